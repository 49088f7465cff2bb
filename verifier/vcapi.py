"""W3C CCG VC-API verification: ``POST /credentials/verify``.

Request: ``{"verifiableCredential": <compact vc+jwt> | <EnvelopedVerifiableCredential>,
"options": {...}}``; the enveloped form is VC 2.0 §4.13 (``id`` =
``data:application/vc+jwt,<JWS>``). Response: ``{"checks": [...], "warnings": [...],
"errors": [...]}``: ``checks`` names what passed (``proof`` for the signature, then our
check ids), ``warnings`` and ``errors`` are RFC 9457-shaped problem objects. 200 when the
credential verified; 400 when it did not or the request is malformed. The judgement is the
same :class:`verifier.core.Verifier` the rest of the service uses.

A superseded credential (the ``refresh`` status bit: "an updated credential is available",
which per Bitstring Status List does not by itself invalidate it) verifies with a warning
that names the current one, when nothing else failed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from vc import strict_json
from verifier.core import SUPERSEDED, VALID, Verdict, Verifier

bp = Blueprint("vcapi", __name__)

PATH = "/credentials/verify"
ENVELOPE_PREFIX = "data:application/vc+jwt,"
ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
VC_ERRORS = "https://www.w3.org/TR/vc-data-model#"
#: Problem ``type`` of a failed check: VC 2.0 §7.2 types where one fits, else our verdict.
PROBLEM_TYPES = {
    "format": VC_ERRORS + "PARSING_ERROR",
    "signature": VC_ERRORS + "CRYPTOGRAPHIC_SECURITY_ERROR",
    "claims": VC_ERRORS + "MALFORMED_VALUE_ERROR",
    "validity": VC_ERRORS + "RANGE_ERROR",
}
VERDICT_TYPE = "https://botox-credentials.example/verdicts#"
#: Our check ids as VC-API names them (others keep ours).
CHECK_NAMES = {"signature": "proof"}


def _answer(status: int, checks: list[str], warnings: list[Any], errors: list[Any]) -> Response:
    body = {"checks": checks, "warnings": warnings, "errors": errors}
    return current_app.response_class(json.dumps(body), status=status, mimetype="application/json")


def _malformed(detail: str) -> Response:
    return _answer(400, [], [], [{"type": VC_ERRORS + "PARSING_ERROR", "title": "Malformed request",
                                  "detail": detail}])


def token_of(value: object) -> str | None:
    """The compact JWT in a ``verifiableCredential`` value, or ``None`` if it holds none."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    types = value.get("type")
    types = types if isinstance(types, list) else [types]
    ident = value.get("id")
    if ENVELOPED_TYPE not in types or not isinstance(ident, str) or not ident.startswith(ENVELOPE_PREFIX):
        return None
    return ident.removeprefix(ENVELOPE_PREFIX)


def _problem(check_id: str, status: str, detail: str) -> dict[str, str]:
    return {"type": PROBLEM_TYPES.get(check_id, VERDICT_TYPE + status), "title": check_id, "detail": detail}


def answer_for(verdict: Verdict) -> tuple[int, list[str], list[Any], list[Any]]:
    """The VC-API status code, checks, warnings and errors of a verdict."""
    checks = [CHECK_NAMES.get(c.id, c.id) for c in verdict.checks if c.ok]
    failed = [c for c in verdict.checks if not c.ok]
    warnings: list[Any] = [
        {"type": VERDICT_TYPE + note.id, "title": note.id, "detail": note.detail} for note in verdict.notes
    ]
    if verdict.status == VALID:
        return 200, checks, warnings, []
    if verdict.status == SUPERSEDED and all(c.id == "supersession" for c in failed):
        warnings += [
            {"type": VERDICT_TYPE + SUPERSEDED, "title": "supersession", "detail": c.detail,
             **({"current": verdict.superseded_by} if verdict.superseded_by else {})}
            for c in failed
        ]
        return 200, checks, warnings, []
    errors: list[Any] = [_problem(c.id, verdict.status, c.detail) for c in failed]
    if not errors:
        errors = [{"type": VERDICT_TYPE + verdict.status, "title": verdict.status, "detail": verdict.status}]
    return 400, checks, warnings, errors


@bp.post(PATH)
def verify() -> Response:
    """Verify one credential, the VC-API way."""
    if not request.is_json:
        return _malformed("The request body must be JSON (Content-Type: application/json).")
    try:
        body = strict_json.loads(request.get_data(cache=False))
    except strict_json.JSONRefused as exc:  # duplicate members, NaN, too deep: as on /api/v1
        return _malformed(f"The request body is not valid JSON: {exc}.")
    if not isinstance(body, dict) or "verifiableCredential" not in body:
        return _malformed('The request body must be an object with "verifiableCredential".')
    if "options" in body and not isinstance(body["options"], dict):
        return _malformed('"options" must be an object.')
    token = token_of(body["verifiableCredential"])
    if token is None or not token.strip():
        return _malformed(
            '"verifiableCredential" must be a compact vc+jwt or an EnvelopedVerifiableCredential '
            'whose id is "data:application/vc+jwt,<JWS>".'
        )
    verifier: Verifier = current_app.extensions["verifier"].verifier
    return _answer(*answer_for(verifier.verify_credential(token)))


def init_app(app: Flask) -> None:
    """Register the VC-API route."""
    app.register_blueprint(bp)
