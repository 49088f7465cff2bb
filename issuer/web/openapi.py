"""The issuer's OpenAPI 3.1 document, ``GET /openapi.json``: built from the request models
(:mod:`issuer.records.schemas`), the response models (:mod:`issuer.web.responses`) and the
route table below, written as data. Every route of the app except the pages for people
(:data:`PAGES`) must be in the table, and every entry must be a route:
:func:`undocumented` and :func:`unrouted` say which are not (a test keeps both empty).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

from flask import Blueprint, Flask, Response

from issuer.records import schemas
from issuer.web import responses as out
from vc import credential as vcc
from vc import ob3 as vc_ob3
from vc import openapi, protocol
from vc.openapi import Body, Operation, Query, Reply

bp = Blueprint("openapi", __name__)

VERSION = "1"
BEARER = "bearer"
#: Endpoints that are pages for people (HTML, the console), not part of the HTTP API.
PAGES = ("public.index", "public.holder_page", "static")
PAGE_PREFIXES = ("console.",)

#: What each error status means, wherever the API answers it.
ERRORS = {
    400: "Malformed request: not JSON, unreadable JSON (duplicate members, NaN, deep nesting, "
         "huge integers) or the wrong Content-Type.",
    401: "No bearer token, or one that is unknown, revoked or expired.",
    403: "The token's role may not do this.",
    404: "No such resource (also for a NUL character in the path).",
    409: "Contradicts the current state; the problem names what is in the way.",
    413: "The request body is larger than this endpoint accepts (1 MiB; the CSV import 20 MiB).",
    422: "A field is missing or wrong (`errors` names each; a NUL character in any query "
         "parameter too), or the request cannot be done as asked (`not-eligible`: `unmet` lists "
         "every requirement not met).",
    503: "The database could not serve the request now: a lock it needed was not granted "
         "within 30 s, or the database is unreachable. Nothing was changed; try again after "
         "`Retry-After` seconds.",
}
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`issuer token create --role admin|certifier|registrar`, or "
                       "`POST /api/v1/tokens`). Roles: registrar (practitioners and records), "
                       "certifier (issuing), admin (everything).",
    }
}


def _errors(*codes: int) -> dict[int, Reply]:
    replies = {code: openapi.problem_reply(ERRORS[code], out.IssuerProblem) for code in codes}
    if 503 in replies:
        replies[503] = replace(replies[503], headers={"Retry-After": "Seconds to wait before trying again."})
    return replies


def _json(description: str, model: Any, **headers: str) -> Reply:
    return Reply(description, (Body(model),), headers)


def _document(description: str, media_type: str, schema: dict[str, Any], **headers: str) -> Reply:
    return Reply(description, (Body(schema=schema, media_type=media_type),), headers)


CREATED = {"Location": "Where the new resource is read."}
CACHED = {"Cache-Control": "`public, max-age=<seconds>`."}
IMMUTABLE = {"ETag": "Strong, known without rendering.",
             "Cache-Control": "`public, max-age=31536000, immutable`."}
NOT_MODIFIED = {304: Reply("Not modified (`If-None-Match`); nothing is rendered.")}


def _staff(
    method: str,
    path: str,
    summary: str,
    roles: str,
    ok: dict[int, Reply],
    errors: tuple[int, ...],
    *,
    request: Any = None,
    request_required: bool = True,
    query: tuple[Query, ...] = (),
    tags: tuple[str, ...] = (),
) -> Operation:
    return Operation(
        method,
        "/api/v1" + path,
        summary,
        {**ok, **_errors(401, 403, 422, 503, *errors)},
        request=() if request is None else (request if isinstance(request, Body) else Body(request),),
        request_required=request_required,
        query=query,
        security=(BEARER,),
        tags=tags,
        description=f"Roles: {roles}.",
    )


def _public(path: str, summary: str, ok: Reply, *errors: int, query: tuple[Query, ...] = (),
            extra: dict[int, Reply] | None = None) -> Operation:
    return Operation("GET", path, summary, {200: ok, **(extra or {}), **_errors(422, *errors)},
                     query=query, tags=("public",))


WRITE = (400, 413, 422)
CRED = "/credentials/{credential_id}"
PROGRAM_QUERY = Query("program", "A program id (`botox-cosmetic-injector`).",
                      {"type": "string", "minLength": 1, "maxLength": 64})
PAPERS = ("a4", "letter")
FLAG = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}

OPERATIONS: tuple[Operation, ...] = (
    # --- staff API ---------------------------------------------------------------------------
    _staff("GET", "/programs", "The programs and their requirements", "any",
           {200: _json("The programs.", out.Programs)}, (), tags=("programs",)),
    _staff("POST", "/practitioners", "Register a practitioner", "registrar",
           {201: _json("Registered.", out.Practitioner, **CREATED)}, (*WRITE, 409),
           request=schemas.PractitionerIn, tags=("practitioners",)),
    _staff("GET", "/practitioners/{practitioner_id}", "A practitioner with their records", "any",
           {200: _json("The practitioner.", out.PractitionerDetail)}, (404,), tags=("practitioners",)),
    _staff("POST", "/practitioners/{practitioner_id}/records", "Add one completion record",
           "registrar", {201: _json("Added.", out.Record, **CREATED)}, (*WRITE, 404, 409),
           request=schemas.RecordIn, tags=("practitioners",)),
    _staff("GET", "/practitioners/{practitioner_id}/eligibility",
           "Every requirement of a program, met or not", "any",
           {200: _json("The requirements.", out.Eligibility)}, (404, 422),
           query=(Query("program", PROGRAM_QUERY.description, PROGRAM_QUERY.schema, required=True),),
           tags=("practitioners",)),
    _staff("POST", "/practitioners/{practitioner_id}/correction",
           "Correct a practitioner's name or profession; re-issues their current credentials",
           "admin", {200: _json("Corrected.", out.CorrectedPractitioner)}, (*WRITE, 404, 409),
           request=schemas.CorrectionIn, tags=("practitioners",)),
    _staff("POST", "/imports", "Import practitioners and records from CSV", "registrar",
           {200: _json("What was done (or, in a dry run, would be) with each line.", out.ImportReport)},
           (400, 409, 413, 422), request=Body(schema=out.TEXT, media_type="text/csv"),
           query=(Query("dry_run", "Report per line and write nothing.", FLAG),
                  Query("skip_invalid", "Write the accepted lines only.", FLAG)),
           tags=("records",)),
    _staff("GET", "/records.csv", "Practitioners and current records in the import layout", "any",
           {200: _document("CSV, formula cells neutralised.", "text/csv", out.TEXT)}, (404, 422),
           query=(PROGRAM_QUERY,), tags=("records",)),
    _staff("POST", "/credentials", "Issue a credential", "certifier",
           {201: _json("Issued.", out.IssuedCredential, **CREATED)}, (*WRITE, 404, 409),
           request=schemas.IssueIn, tags=("credentials",)),
    _staff("POST", "/credentials/bulk", "Issue to every eligible practitioner without one",
           "certifier", {200: _json("What was done, or would be.", out.BulkSummary)}, (*WRITE, 404),
           request=schemas.BulkIssueIn, tags=("credentials",)),
    _staff("GET", CRED, "Metadata and current status of a credential", "any",
           {200: _json("The credential.", out.CredentialInfo)}, (404,), tags=("credentials",)),
    _staff("POST", CRED + "/revoke", "Revoke for good", "admin",
           {200: _json("Revoked.", out.CredentialInfo)}, (*WRITE, 404, 409),
           request=schemas.ReasonIn, tags=("credentials",)),
    _staff("POST", CRED + "/suspend", "Suspend until reinstated", "admin",
           {200: _json("Suspended.", out.CredentialInfo)}, (*WRITE, 404, 409),
           request=schemas.ReasonIn, tags=("credentials",)),
    _staff("POST", CRED + "/reinstate", "Lift a suspension", "admin",
           {200: _json("Reinstated.", out.CredentialInfo)}, (*WRITE, 404, 409),
           request=schemas.OptionalReasonIn, request_required=False, tags=("credentials",)),
    _staff("POST", CRED + "/renew", "Renew: eligibility checked again, a new validity period",
           "certifier", {201: _json("Renewed; the old one is superseded.", out.ReplacementCredential,
                                    **CREATED)},
           (*WRITE, 404, 409), request=schemas.LifecycleIn, request_required=False,
           tags=("credentials",)),
    _staff("POST", CRED + "/reissue", "Re-sign with the active key (same content and validity)",
           "admin", {201: _json("Re-issued; the old one is superseded.", out.ReplacementCredential,
                                **CREATED)},
           (*WRITE, 404, 409), request=schemas.LifecycleIn, request_required=False,
           tags=("credentials",)),
    _staff("GET", "/audit/verify", "Check the audit chain", "admin",
           {200: _json("The check.", out.AuditReport)}, (), tags=("audit",)),
    _staff("GET", "/tokens", "Every API token (never a secret)", "admin",
           {200: _json("The tokens.", out.Tokens)}, (), tags=("tokens",)),
    _staff("POST", "/tokens", "Create an API token", "admin",
           {201: _json("Created; `token` is the secret, shown this once.", out.NewToken, **CREATED)},
           WRITE, request=schemas.TokenIn, tags=("tokens",)),
    _staff("POST", "/tokens/{token_id}/revoke", "Revoke an API token", "admin",
           {200: _json("Revoked: its next request gets 401.", out.Token)}, (404, 409), tags=("tokens",)),
    # --- public documents ----------------------------------------------------------------------
    _public(protocol.JWKS_PATH, "The public keys that verify credentials still in use",
            _json("JWK Set.", out.PublicJwks, **CACHED)),
    _public(protocol.public_status_path("{credential_id}"), "Public lifecycle of one credential",
            _json("Status, public reason category and successor.", out.PublicStatus, **CACHED), 404),
    _public(protocol.status_list_path("{purpose}", "{list_id}"),
            "A Bitstring Status List credential (purpose revocation, suspension or refresh)",
            _document("The signed list.", vcc.MEDIA_TYPE, out.JWT_TEXT, ETag="The list's version.", **CACHED),
            404, extra={304: Reply("Not modified (`If-None-Match`).")}),
    _public(vcc.CONTEXT_PATH, "The JSON-LD context of our own terms",
            _document("The context.", "application/ld+json", out.JSON_LD_CONTEXT, **CACHED)),
    _public("/programs/{program_id}", "What a program requires",
            _json("The program.", out.Program, **CACHED), 404),
    _public(protocol.credential_jwt_path("{credential_id}"), "The credential as issued",
            _document("Compact JWS.", vcc.MEDIA_TYPE, out.JWT_TEXT), 404),
    _public(CRED + "/qr.png", "The QR code (PNG) of the verification link",
            _document("PNG.", "image/png", out.BINARY, **IMMUTABLE), 404, extra=NOT_MODIFIED),
    _public(CRED + "/qr.svg", "The QR code (SVG) of the verification link",
            _document("SVG.", "image/svg+xml", out.TEXT, **IMMUTABLE), 404, extra=NOT_MODIFIED),
    _public(CRED + "/certificate.pdf", "The printable certificate",
            _document("PDF.", "application/pdf", out.BINARY,
                      ETag="Strong; changes with the credential's state.", **CACHED),
            404, extra=NOT_MODIFIED,
            query=(Query("paper", "Paper size (default a4).", {"type": "string", "enum": list(PAPERS)}),)),
    _public(protocol.ob3_path("{credential_id}"), "The Open Badges 3.0 profile of a credential",
            _document("Compact JWS (1EdTech JWT rules).", vc_ob3.MEDIA_TYPE, out.JWT_TEXT), 404),
    _public(protocol.ob3_path("{credential_id}") + "/refresh",
            "refreshService of an Open Badges profile: the profile of the current credential",
            _document("Compact JWS.", vc_ob3.MEDIA_TYPE, out.JWT_TEXT), 404),
    _public(protocol.refresh_path("{credential_id}"),
            "refreshService of a credential: the current credential of its chain",
            _document("Compact JWS.", vcc.MEDIA_TYPE, out.JWT_TEXT), 404),
    _public(protocol.key_path("{kid}"), "One published public key",
            _document("JWK.", "application/jwk+json", out.PublicJwk.model_json_schema(), **CACHED), 404),
    _public(openapi.DOCUMENT_PATH, "This document",
            _document("OpenAPI 3.1.", openapi.JSON, out.OPENAPI_DOCUMENT, **CACHED)),
)

DESCRIPTION = (
    "Records completions of Botox injector training, checks them against each program's rules "
    "and signs W3C Verifiable Credentials 2.0 as `application/vc+jwt`; publishes keys, status "
    "lists and each credential's documents. Errors are RFC 9457 `application/problem+json`. "
    "The staff API (`/api/v1`) takes `Authorization: Bearer <token>`."
)


@cache
def document() -> dict[str, Any]:
    """The issuer's OpenAPI 3.1 document (built once per process)."""
    return openapi.document(
        title="botox-credentials issuer",
        version=VERSION,
        description=DESCRIPTION,
        operations=OPERATIONS,
        security_schemes=SECURITY_SCHEMES,
    )


@cache
def _document_bytes() -> bytes:
    return json.dumps(document(), ensure_ascii=False).encode()


def routes(app: Flask) -> set[tuple[str, str]]:
    """``(METHOD, OpenAPI path)`` of every route of ``app`` that is not a page for people."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PAGES or rule.endpoint.startswith(PAGE_PREFIXES):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, openapi.openapi_path(rule.rule)))
    return found


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
