"""The issuer's one error tree. Each error knows its HTTP status and problem type; the
app translates them once, at the edge, into RFC 9457 problem JSON (API) or a page (HTML),
and the CLI into a one-line message with a non-zero exit.
"""

from __future__ import annotations

from typing import Any, ClassVar


class IssuerError(Exception):
    """Base of every refusal the issuer makes."""

    code: ClassVar[str] = "issuer-error"
    title: ClassVar[str] = "Request refused"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem object for this error."""
        return {
            **self.extensions,
            "type": f"urn:botox-credentials:problem:{self.code}",
            "title": self.title,
            "status": self.http_status,
            "detail": self.detail,
        }


class ValidationFailed(IssuerError):
    """The request body or a file does not have the expected fields and values."""

    code = "validation-failed"
    title = "The request is not valid"
    http_status = 422


class BadRequest(IssuerError):
    """The request cannot be read at all (not JSON, too large...)."""

    code = "bad-request"
    title = "Malformed request"
    http_status = 400


class PayloadTooLarge(IssuerError):
    """The request body is larger than the endpoint accepts."""

    code = "payload-too-large"
    title = "The request body is too large"
    http_status = 413


class NotFound(IssuerError):
    """No such practitioner, credential, program or list."""

    code = "not-found"
    title = "Not found"
    http_status = 404


class Unauthorized(IssuerError):
    """No or an unknown bearer token."""

    code = "unauthorized"
    title = "Authentication required"
    http_status = 401


class Forbidden(IssuerError):
    """The token's role may not do this."""

    code = "forbidden"
    title = "Not allowed for this role"
    http_status = 403


class NotEligible(IssuerError):
    """The candidate does not meet every requirement of the program."""

    code = "not-eligible"
    title = "The candidate does not meet the program's requirements"
    http_status = 422


class Conflict(IssuerError):
    """The change contradicts the current state (already revoked, already certified...)."""

    code = "conflict"
    title = "Conflicts with the current state"
    http_status = 409


class Busy(IssuerError):
    """The database could not serve the request now (a lock not granted in time, the server
    unreachable); nothing was written. Answered with ``Retry-After``."""

    code = "busy"
    title = "Busy, try again shortly"
    http_status = 503
    retry_after: ClassVar[int] = 2


class ConfigurationError(IssuerError):
    """The issuer cannot start: a file or setting is wrong. The message names it."""

    code = "configuration"
    title = "Configuration error"
    http_status = 500
