"""Public endpoints: keys, status lists, the context, and the holder's credential page."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from issuer.credentials import certificate, issuance, qr, signing_keys, status_changes, status_lists
from issuer.errors import NotFound
from issuer.web.edge import ctx, db, read_db, rendered
from vc import credential as vcc
from vc import jsonld, protocol

bp = Blueprint("public", __name__)

#: Our JSON-LD context: defined once, in the pure package, so tests and docs read the same.
CONTEXT_DOCUMENT = jsonld.CONTEXT_DOCUMENT


def _public(response: Response, max_age: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/")
def index() -> str:
    """A short page saying what this service is."""
    return render_template("issuer/index.html", issuer_name=ctx().config.issuer_name)


@bp.get(protocol.JWKS_PATH)
def jwks() -> Response:
    """The public keys that verify credentials still in use (never a private member, never a
    compromised key). Cached for the status list ttl, so a compromise reaches verifiers as
    fast as a revocation."""
    return _public(jsonify(signing_keys.published_jwks(read_db(), ctx())), ctx().config.status_list_ttl)


@bp.get(protocol.public_status_path("<credential_id>"))
def credential_status(credential_id: str) -> Response:
    """Public lifecycle of one credential: status, public reason category, current successor."""
    body = status_changes.public_status(read_db(), ctx(), credential_id)
    return _public(jsonify(body), ctx().config.status_list_ttl)


@bp.get(vcc.CONTEXT_PATH)
def context() -> Response:
    """The JSON-LD context of our own terms."""
    response = jsonify(CONTEXT_DOCUMENT)
    response.mimetype = "application/ld+json"
    return _public(response, 86_400)


@bp.get("/programs/<program_id>")
def program(program_id: str) -> Response:
    """What a program requires (the achievement id in credentials points here)."""
    found = ctx().programs.get(program_id)
    if found is None:
        raise NotFound(f"no program {program_id!r}")
    return _public(jsonify(found.describe()), 3600)


@bp.get(protocol.status_list_path("<purpose>", "<list_id>"))
def status_list(purpose: str, list_id: str) -> Response:
    """A signed status list credential, with ttl-aligned caching and ETag."""
    found = status_lists.status_list(read_db(), ctx(), purpose, list_id)
    if status_lists.signature_getting_old(ctx(), found):
        found = status_lists.resign_list(db(), ctx(), list_id)
    ttl = ctx().config.status_list_ttl
    if request.if_none_match.contains(found.etag.strip('"')):
        response = Response(status=304)
    else:
        response = Response(found.token, mimetype=vcc.MEDIA_TYPE)
    response.headers["ETag"] = found.etag
    return _public(response, ttl)


@bp.get(protocol.holder_path("<credential_id>"))
def holder_page(credential_id: str) -> str:
    """The holder's page: what the credential says as signed (never the live practitioner
    row, which a correction may have changed since), its live status, QR code, downloads."""
    row = issuance.get_credential(read_db(), credential_id)
    # The free-text reason and the note are private: they never reach a public page.
    private = ("status_reason", "status_note")
    info = {k: v for k, v in issuance.credential_json(ctx(), row).items() if k not in private}
    return render_template(
        "issuer/credential.html",
        info=info,
        lifecycle=status_changes.public_status(read_db(), ctx(), row.id),
        signed=certificate.signed_view(row),
        stamps=certificate.STAMPS,
    )


@bp.get(protocol.credential_jwt_path("<credential_id>"))
def credential_jwt(credential_id: str) -> Response:
    """The credential as issued, ``application/vc+jwt``."""
    row = issuance.get_credential(read_db(), credential_id)
    response = Response(row.token, mimetype=vcc.MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="credential-{row.id}.jwt"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


#: The QR code of a verify link never changes: cached for a year, never revalidated.
QR_CACHE = "public, max-age=31536000, immutable"


@bp.get("/credentials/<credential_id>/qr.png")
def qr_png(credential_id: str) -> Response:
    """The QR code (PNG) of the verify link, rendered on request (its ETag without rendering)."""
    link = ctx().verify_url(issuance.get_credential(read_db(), credential_id).id)
    return rendered(qr.etag("png", link), QR_CACHE, "image/png", lambda: qr.png(link))


@bp.get("/credentials/<credential_id>/qr.svg")
def qr_svg(credential_id: str) -> Response:
    """The QR code (SVG) of the verify link, rendered on request; always on an opaque white
    background with its quiet zone."""
    link = ctx().verify_url(issuance.get_credential(read_db(), credential_id).id)
    return rendered(qr.etag("svg", link), QR_CACHE, "image/svg+xml", lambda: qr.svg(link))
