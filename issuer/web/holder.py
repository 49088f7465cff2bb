"""What the holder's page adds: the PDF certificate download and the sharing links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, request

from issuer.credentials.certificate import certificate
from issuer.web.edge import ctx, read_db, rendered
from vc.credential import PROFESSIONS

bp = Blueprint("holder", __name__)

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


@bp.get("/credentials/<credential_id>/certificate.pdf")
def certificate_pdf(credential_id: str) -> Response:
    """The one-page PDF certificate, ``?paper=a4`` (default) or ``?paper=letter``: what was
    signed, stamped when the credential is not current, rendered on request. Its ETag is
    known without rendering (``If-None-Match`` gets ``304``) and changes with the state;
    cached no longer than a status list, so a revocation reaches a re-download as fast as
    it reaches a verifier."""
    document = certificate(read_db(), ctx(), credential_id, request.args.get("paper", "a4"))
    response = rendered(document.etag, f"public, max-age={ctx().config.status_list_ttl}", "application/pdf",
                        lambda: document.render(ctx()))
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


def linkedin_url(info: dict[str, Any], certification: str, organization: str) -> str:
    """LinkedIn's "add a certification" link, prefilled from the credential."""
    issued = datetime.fromisoformat(info["valid_from"]).astimezone(UTC)
    expires = datetime.fromisoformat(info["valid_until"]).astimezone(UTC)
    return LINKEDIN_ADD + "?" + urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": certification,
            "organizationName": organization,
            "issueYear": issued.year,
            "issueMonth": issued.month,
            "expirationYear": expires.year,
            "expirationMonth": expires.month,
            "certUrl": info["verify_url"],
            "certId": info["id"],
        }
    )


def install(app: Flask) -> None:
    """Register the blueprint and the template helper."""
    app.register_blueprint(bp)
    app.add_template_global(linkedin_url, "linkedin_url")
    app.jinja_env.globals["professions"] = PROFESSIONS
