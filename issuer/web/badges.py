"""Public endpoints of the standards profiles: the Open Badges 3.0 form of a credential, the
public JWK its ``kid`` URL names, and the ``refreshService`` of both forms."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from issuer.credentials import ob3
from issuer.web.edge import ctx, read_db
from vc import credential as vcc
from vc import ob3 as vc_ob3
from vc import protocol

bp = Blueprint("badges", __name__)


def _document(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get(protocol.ob3_path("<credential_id>"))
def ob3_profile(credential_id: str) -> Response:
    """The Open Badges 3.0 profile (1EdTech JWT rules), for badge backpacks."""
    token = ob3.profile_token(read_db(), ctx(), credential_id)
    return _document(token, vc_ob3.MEDIA_TYPE, f"open-badge-{credential_id}.jwt")


@bp.get(protocol.key_path("<kid>"))
def public_key(kid: str) -> Response:
    """One published public key (what an OB 3.0 ``kid`` URL dereferences to)."""
    response = jsonify(ob3.public_jwk(read_db(), ctx(), kid))
    response.mimetype = "application/jwk+json"
    response.headers["Cache-Control"] = f"public, max-age={ctx().config.status_list_ttl}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get(protocol.refresh_path("<credential_id>"))
def refresh(credential_id: str) -> Response:
    """``refreshService`` of a credential: the current credential of its chain, as issued
    (``application/vc+jwt``); the credential itself while nothing superseded it."""
    row = ob3.current_of(read_db(), credential_id)
    return _document(row.token, vcc.MEDIA_TYPE, f"credential-{row.id}.jwt")


@bp.get(protocol.ob3_path("<credential_id>") + "/refresh")
def ob3_refresh(credential_id: str) -> Response:
    """``refreshService`` of an OB 3.0 profile: the profile of the current credential."""
    current = ob3.current_of(read_db(), credential_id)
    token = ob3.profile_token(read_db(), ctx(), current.id)
    return _document(token, vc_ob3.MEDIA_TYPE, f"open-badge-{current.id}.jwt")


