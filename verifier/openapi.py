"""The verifier's OpenAPI 3.1 document, ``GET /openapi.json``: request and response models
(pydantic) and the route table, written as data. Every route except the pages for people
(:data:`PAGES`) must be in the table and every entry a route (:func:`undocumented`,
:func:`unrouted`; a test keeps both empty).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from flask import Blueprint, Flask, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vc import openapi
from vc.openapi import Body, Operation, Reply
from verifier import vcapi

bp = Blueprint("openapi", __name__)

VERSION = "1"
#: Endpoints that are pages for people (HTML forms, the QR landing page, receipt downloads).
PAGES = (
    "static",
    "verifier.index",
    "verifier.index_post",
    "verifier.link_page",
    "verifier.link_receipt",
    "verifier.receipt_post",
    "verifier.upload",
)

Text = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]


# --- requests ----------------------------------------------------------------------------------


class VerifyCredential(BaseModel):
    """A compact credential JWT (whitespace and line breaks inside it are removed first)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["qr"]}})

    credential: Text


class VerifyQr(BaseModel):
    """The text decoded from a QR code: a verification link, a holder-page link or a token."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["credential"]}})

    qr: Text


VerifyRequest = VerifyCredential | VerifyQr


class Enveloped(BaseModel):
    """VC 2.0 §4.13 ``EnvelopedVerifiableCredential``."""

    type: Literal["EnvelopedVerifiableCredential"] | list[str]
    id: Annotated[str, StringConstraints(pattern=r"^data:application/vc\+jwt,\S")]


class VcApiVerify(BaseModel):
    """W3C CCG VC-API verify request."""

    verifiableCredential: Text | Enveloped  # noqa: N815 (the VC-API's member name)
    options: dict[str, Any] | None = None


# --- responses ---------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Check(_Out):
    """One check: a stable id, whether it passed, why in plain words."""

    id: str
    ok: bool
    detail: str


class Note(_Out):
    """Something worth knowing that does not change the verdict (``expiring_soon``)."""

    id: str
    detail: str


class SummaryLicense(BaseModel):
    """The license as the credential states it (values as signed)."""

    jurisdiction: Any = None
    number: Any = None
    status_at_check: Any = None
    expires_on: Any = None
    checked_on: Any = None
    checked_source: Any = None


class SummaryProgram(BaseModel):
    """The program as the credential states it."""

    id: Any = None
    name: Any = None
    description: Any = None
    accreditation_body: Any = None
    accreditation_id: Any = None
    cme_credits: Any = None


class SummaryResults(BaseModel):
    """The training results as the credential states them."""

    didactic_hours: Any = None
    didactic_modules: Any = None
    hands_on_hours: Any = None
    supervised_injections: Any = None
    live_models: Any = None
    written_exam_passed_on: Any = None
    practical_exam_passed_on: Any = None
    practical_examiner: Any = None


class CredentialSummary(BaseModel):
    """The plain facts of an authentic credential, as signed."""

    id: str
    name: Any = None
    profession: Any = None
    profession_name: Any = None
    license: SummaryLicense
    program: SummaryProgram
    results: SummaryResults
    issuer_id: str
    issuer_name: str
    valid_from: str
    valid_until: str


class Verdict(_Out):
    """One verdict: ``credential`` is null unless the credential is authentic."""

    #: Every verdict of :mod:`verifier.core` (a test keeps them equal).
    status: Literal[
        "valid", "not_authentic", "unreadable", "issuer_not_recognised", "revoked", "suspended",
        "superseded", "expired", "not_yet_valid", "status_unknown",
    ]
    checks: list[Check]
    credential: CredentialSummary | None
    checked_at: str = Field(description="When the request was judged (UTC, `Z`).")
    status_as_of: str | None = Field(
        description="When the oldest status list used was fetched or revalidated; null when none was."
    )
    notes: list[Note]
    superseded_by: str | None


class VcApiProblem(BaseModel):
    """A VC-API warning or error (RFC 9457 shaped; VC 2.0 §7.2 types where one fits)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    detail: str


class VcApiResult(_Out):
    """VC-API verification result."""

    checks: list[str]
    warnings: list[VcApiProblem]
    errors: list[VcApiProblem]


#: The verifier's JWK Set: its public receipt-signing key.
ReceiptJwks = openapi.PublicJwks


# --- the route table -----------------------------------------------------------------------------


def _problem(description: str) -> Reply:
    return openapi.problem_reply(description)


OPENAPI_DOCUMENT = {"type": "object", "required": ["openapi", "info", "paths"]}
TOO_LARGE = _problem("The request body is larger than 1 MiB.")
VCAPI_ANSWER = (Body(VcApiResult),)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST", "/api/v1/verify", "Judge a credential or the text of a QR code",
        {
            200: Reply("The verdict, whenever the input could be judged.", (Body(Verdict),)),
            400: _problem("Malformed: not JSON, neither or both fields, wrong types, empty."),
            413: TOO_LARGE,
        },
        request=(Body(VerifyRequest),), tags=("verify",),
    ),
    Operation(
        "POST", vcapi.PATH, "W3C CCG VC-API: verify one credential",
        {
            200: Reply("Verified (a superseded credential verifies with a warning).", VCAPI_ANSWER),
            400: Reply("Not verified, or a malformed request (`errors` says which).", VCAPI_ANSWER),
            413: TOO_LARGE,
        },
        request=(Body(VcApiVerify),), tags=("verify",),
    ),
    Operation(
        "GET", "/.well-known/jwks.json", "The verifier's public key, which signs verification receipts",
        {200: Reply("JWK Set.", (Body(ReceiptJwks),), {"Cache-Control": "`public, max-age=300`."})},
        tags=("keys",),
    ),
    Operation(
        "GET", openapi.DOCUMENT_PATH, "This document",
        {200: Reply("OpenAPI 3.1.", (Body(schema=OPENAPI_DOCUMENT),),
                    {"Cache-Control": "`public, max-age=3600`."})},
        tags=("meta",),
    ),
)

DESCRIPTION = (
    "Checks a Botox injector certification credential (W3C VC 2.0, `application/vc+jwt`): "
    "signature against its trusted issuer's published keys, validity period, revocation, "
    "suspension and supersession, and answers one verdict. Errors are RFC 9457 "
    "`application/problem+json`; the VC-API call answers in its own shape."
)


@cache
def document() -> dict[str, Any]:
    """The verifier's OpenAPI 3.1 document (built once per process)."""
    return openapi.document(
        title="botox-credentials verifier", version=VERSION, description=DESCRIPTION, operations=OPERATIONS
    )


@cache
def _document_bytes() -> bytes:
    return json.dumps(document(), ensure_ascii=False).encode()


def routes(app: Flask) -> set[tuple[str, str]]:
    """``(METHOD, OpenAPI path)`` of every route of ``app`` that is not a page for people."""
    return {
        (method, openapi.openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PAGES
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def undocumented(app: Flask) -> set[tuple[str, str]]:
    """Routes of ``app`` (pages aside) that the document does not describe."""
    return routes(app) - {op.key for op in OPERATIONS}


def unrouted(app: Flask) -> set[tuple[str, str]]:
    """Operations the document describes that ``app`` does not serve."""
    return {op.key for op in OPERATIONS} - routes(app)


@bp.get(openapi.DOCUMENT_PATH)
def openapi_json() -> Response:
    """The OpenAPI 3.1 document of this service (public, cacheable)."""
    response = Response(_document_bytes(), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def init_app(app: Flask) -> None:
    """Serve the document."""
    app.register_blueprint(bp)
