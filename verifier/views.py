"""The HTTP shell: parse the request, call :class:`verifier.core.Verifier`, render.

* ``POST /api/v1/verify``: JSON ``{"credential": ...}`` or ``{"qr": ...}`` -> verdict JSON.
* ``GET /``: a form to paste a credential (or a verification link); ``POST /`` judges it.
* ``GET /v/<id>?issuer=...``: what a QR code opens; the same verdict as the API.
  ``&view=employer`` adds every check, the full license number and evidence, the key id and
  status list positions; ``GET /v/<id>/receipt?issuer=...`` downloads a signed receipt.
* ``POST /upload``: a photo or screenshot of a QR code, decoded on the server (see
  :mod:`verifier.qrimage` for the memory bounds). With several QR codes in the image, the
  one that is a verification link or credential is judged; if none or several are, the
  page asks for a picture with one code.
* ``POST /receipt``: a signed receipt for a pasted credential or link.
* ``GET /.well-known/jwks.json``: the verifier's own public key, which signs receipts.

Errors are one tree (werkzeug's ``HTTPException``, plus anything unexpected as 500),
translated once in :func:`init_app`: RFC 9457 problem JSON on the API (:func:`is_api_path`:
``/api/``, ``/credentials/verify``, ``/.well-known/``, ``/openapi.json``), an HTML page
elsewhere. Every response carries the security headers in :data:`SECURITY_HEADERS`.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed

from vc import strict_json
from verifier import vcapi
from verifier.core import (
    EXPIRED,
    ISSUER_NOT_RECOGNISED,
    NOT_AUTHENTIC,
    NOT_YET_VALID,
    REVOKED,
    STATUS_UNKNOWN,
    SUPERSEDED,
    SUSPENDED,
    UNREADABLE,
    VALID,
    Verdict,
    Verifier,
    freshness_words,
    looks_verifiable,
)
from verifier.qrimage import MAX_UPLOAD_BYTES, UnreadableImage, read_qr_codes
from verifier.receipt import RECEIPT_TYP, ReceiptSigner

bp = Blueprint("verifier", __name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
PROBLEM_JSON = "application/problem+json"

#: What the page says for each verdict: tone (colour), headline, one line of advice.
PRESENTATION: dict[str, tuple[str, str, str]] = {
    VALID: (
        "good",
        "Valid certification",
        "This certificate is genuine, current, and has not been revoked or suspended.",
    ),
    REVOKED: (
        "bad",
        "Revoked — do not rely on this certificate",
        "The issuer has withdrawn this certification.",
    ),
    SUSPENDED: (
        "bad",
        "Suspended — do not rely on this certificate",
        "The issuer has suspended this certification for now.",
    ),
    SUPERSEDED: (
        "bad",
        "Superseded — a newer version of this certificate exists",
        "The issuer has replaced this certificate (renewal or correction); check the current one.",
    ),
    EXPIRED: (
        "bad",
        "Expired — this certification is no longer current",
        "Its validity period has ended.",
    ),
    NOT_YET_VALID: (
        "bad",
        "Not yet valid — do not rely on this certificate yet",
        "Its validity period has not started.",
    ),
    UNREADABLE: (
        "unknown",
        "This is not a certificate or verification link",
        "Check what you pasted or scanned: the whole verification link (it contains /v/), the "
        "certificate's page address, or the credential text; or upload a photo of the QR code.",
    ),
    NOT_AUTHENTIC: (
        "bad",
        "Not authentic — do not rely on this certificate",
        "It could not be confirmed as genuine: it may have been altered or forged.",
    ),
    ISSUER_NOT_RECOGNISED: (
        "bad",
        "Issuer not recognised — do not rely on this certificate",
        "It does not come from an organisation this service trusts.",
    ),
    STATUS_UNKNOWN: (
        "unknown",
        "Could not check status right now",
        "We could not confirm that this certification is still current. "
        "Please try again in a few minutes.",
    ),
    # Added by the issuer's supersession work; shown whenever a verdict carries it.
    "superseded": (
        "bad",
        "Replaced by a newer certificate — do not rely on this one",
        "The issuer has replaced this certification with a newer one.",
    ),
}
#: Anything the page does not know is never shown as good.
UNKNOWN_PRESENTATION = (
    "unknown",
    "Could not confirm this certificate",
    "Its current status could not be established. Do not rely on it.",
)
NOTE_TEXT = {"expiring_soon": "Expires soon"}
#: How the verdict box introduces the issuer's public reason category.
WITHDRAWN = {REVOKED: "Withdrawn by the issuer", SUSPENDED: "Suspended by the issuer"}
#: What a certificate means, said only where it is true: for a valid one, and in the past
#: tense for an expired one. Red and amber verdicts do not say it.
MEANING = {
    VALID: ("What this means:", "this person completed a training certification in Botox "
            "(botulinum toxin) injection."),
    EXPIRED: ("What this meant:", "this person completed a training certification in Botox "
              "(botulinum toxin) injection; it has since expired and is no longer current."),
}


def _verifier() -> Verifier:
    verifier: Verifier = current_app.extensions["verifier"].verifier
    return verifier


def _verify_request() -> tuple[str, str]:
    """The one field (``credential`` or ``qr``) and its text; raises ``BadRequest``."""
    if not request.is_json:
        raise BadRequest("The request body must be JSON (Content-Type: application/json).")
    raw = request.get_data(cache=False)  # raises 413 beyond MAX_CONTENT_LENGTH
    try:
        body = strict_json.loads_object(raw)
    except strict_json.JSONRefused as exc:
        raise BadRequest(f"The request body is not acceptable JSON: {exc}.") from exc
    present = [name for name in ("credential", "qr") if name in body]
    if len(present) != 1:
        raise BadRequest('Send exactly one of "credential" (a compact JWT) or "qr" (QR text).')
    name = present[0]
    value = body[name]
    if not isinstance(value, str):
        raise BadRequest(f'"{name}" must be a string.')
    if not value.strip():
        raise BadRequest(f'"{name}" must not be empty.')
    return name, value


@bp.post("/api/v1/verify")
def api_verify() -> Response:
    """Judge a credential or QR text; 200 with the verdict, 400 problem if malformed."""
    name, value = _verify_request()
    verifier = _verifier()
    if name == "credential":
        verdict = verifier.verify_credential(value)
    else:
        verdict = verifier.verify_qr(value)
    return jsonify(verdict.to_json())


def _render_verdict(
    verdict: Verdict, *, employer: bool = False, receipt_url: str | None = None, source: str = ""
) -> str:
    tone, headline, advice = PRESENTATION.get(verdict.status, UNKNOWN_PRESENTATION)
    if tone == "good" and verdict.status != VALID:  # never green unless valid
        tone = "unknown"
    body = verdict.to_json()
    authentic = verdict.credential is not None and verdict.status != NOT_AUTHENTIC
    notes = body.get("notes") or []
    return render_template(
        "verifier/verdict.html",
        verdict=verdict,
        tone=tone,
        headline=headline,
        advice=advice,
        credential=verdict.credential if authentic else None,
        evidence=verdict.evidence if authentic else {},
        notes=[n for n in notes if isinstance(n, dict)] if authentic else [],
        note_text=NOTE_TEXT,
        superseded_by=body.get("superseded_by") if authentic else None,
        status_freshness=_status_freshness(verdict) if authentic else None,
        withdrawn=WITHDRAWN.get(verdict.status) if verdict.public_reason else None,
        meaning=MEANING.get(verdict.status) if authentic else None,
        employer=employer,
        receipt_url=receipt_url,
        source=source,
    )


def _status_freshness(verdict: Verdict) -> str:
    """The page's line on how fresh the status is: when the oldest list consulted was
    fetched or revalidated from the issuer, never the time of the request."""
    if verdict.status_as_of is None:
        return "The issuer's revocation and suspension lists could not be consulted."
    words = freshness_words(verdict.status_as_of, verdict.status_refresh, verdict.checked_at)
    return f"Status {words}."


@bp.get("/")
def index() -> str:
    """The paste form."""
    return render_template("verifier/index.html")


@bp.post("/")
def index_post() -> Response:
    """Judge the pasted ``credential`` field (a compact JWT or a verification link)."""
    text = request.form.get("credential", "")
    if not text.strip():
        page = render_template(
            "verifier/index.html", error="Paste a credential or a verification link first."
        )
        return make_response(page, 400)
    employer = request.form.get("view") == "employer"
    return make_response(
        _render_verdict(_verifier().verify_qr(text), employer=employer, source=text.strip())
    )


def _link_issuer() -> str | None:
    issuers = request.args.getlist("issuer")
    return issuers[0] if len(issuers) == 1 else None


@bp.get("/v/<credential_id>")
def link_page(credential_id: str) -> Response:
    """The page a QR code opens: the verdict for this credential of this issuer."""
    issuer = _link_issuer()
    employer = request.args.get("view") == "employer"
    verdict = _verifier().verify_link(credential_id, issuer)
    receipt_url = url_for("verifier.link_receipt", credential_id=credential_id, issuer=issuer)
    response = make_response(_render_verdict(verdict, employer=employer, receipt_url=receipt_url))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _receipt_response(verdict: Verdict, subject: str) -> Response:
    receipts: ReceiptSigner = current_app.extensions["verifier_receipts"]
    # Named from configuration, never from the request's Host header (a client's choice).
    verifier_url = current_app.extensions["verifier"].settings.verifier_url
    token, payload = receipts.sign(verdict, verifier_url=verifier_url, subject=subject)
    document = {
        "receipt": token,
        "typ": RECEIPT_TYP,
        "kid": receipts.kid,
        "jwks_url": verifier_url + url_for("verifier.jwks"),
        "verification": payload,
    }
    response = current_app.response_class(
        json.dumps(document, indent=2), status=200, mimetype="application/json"
    )
    name = f"verification-receipt-{payload['credential_id'] or 'unknown'}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/v/<credential_id>/receipt")
def link_receipt(credential_id: str) -> Response:
    """A signed receipt of a fresh verification of this credential (JSON download)."""
    issuer = _link_issuer()
    verdict = _verifier().verify_link(credential_id, issuer)
    return _receipt_response(verdict, f"verification link for credential {credential_id}")


@bp.post("/receipt")
def receipt_post() -> Response:
    """A signed receipt for a pasted credential or verification link."""
    text = request.form.get("credential", "")
    if not text.strip():
        raise BadRequest("Paste a credential or a verification link first.")
    kind = "verification link" if "://" in text else "credential (compact JWT)"
    return _receipt_response(_verifier().verify_qr(text), f"pasted {kind}")


@bp.post("/upload")
def upload() -> Response:
    """Judge the QR code in an uploaded photo or screenshot (decoded here, size-limited)."""
    request.max_content_length = MAX_UPLOAD_BYTES + 64 * 1024
    file = request.files.get("image")
    data = file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    try:
        text = _one_code(read_qr_codes(data))
    except UnreadableImage as exc:
        page = render_template("verifier/index.html", error=str(exc))
        return make_response(page, 400)
    return make_response(_render_verdict(_verifier().verify_qr(text), source=text))


def _one_code(texts: list[str]) -> str:
    """The QR code to judge: the only one, or the only one shaped like a verification link
    or credential among several; otherwise :class:`UnreadableImage` asks for one code."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) == 1:
        return distinct[0]
    ours = [text for text in distinct if looks_verifiable(text)]
    if len(ours) == 1:
        return ours[0]
    raise UnreadableImage(
        f"The image holds {len(distinct)} QR codes"
        + (f", {len(ours)} of them verification links or credentials" if ours else "")
        + ". Send a picture with only the certificate's QR code in it."
    )


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The verifier's public receipt-signing key."""
    receipts: ReceiptSigner = current_app.extensions["verifier_receipts"]
    response = jsonify(receipts.jwks)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# -- presentation helpers -----------------------------------------------------------------------


def mask_license(number: object) -> str:
    """A license number with all but its last four characters hidden."""
    if not isinstance(number, str) or not number:
        return ""
    if len(number) <= 4:
        return "•" * len(number)
    return "•" * (len(number) - 4) + number[-4:]


US_STATES = dict(
    item.split("=")
    for item in (
        "AL=Alabama AK=Alaska AZ=Arizona AR=Arkansas CA=California CO=Colorado CT=Connecticut "
        "DE=Delaware DC=District_of_Columbia FL=Florida GA=Georgia HI=Hawaii ID=Idaho IL=Illinois "
        "IN=Indiana IA=Iowa KS=Kansas KY=Kentucky LA=Louisiana ME=Maine MD=Maryland "
        "MA=Massachusetts MI=Michigan MN=Minnesota MS=Mississippi MO=Missouri MT=Montana "
        "NE=Nebraska NV=Nevada NH=New_Hampshire NJ=New_Jersey NM=New_Mexico NY=New_York "
        "NC=North_Carolina ND=North_Dakota OH=Ohio OK=Oklahoma OR=Oregon PA=Pennsylvania "
        "RI=Rhode_Island SC=South_Carolina SD=South_Dakota TN=Tennessee TX=Texas UT=Utah "
        "VT=Vermont VA=Virginia WA=Washington WV=West_Virginia WI=Wisconsin WY=Wyoming"
    ).split()
)


def licensing_board(jurisdiction: object) -> str:
    """Who to ask about a license: ``US-TX`` -> ``the Texas licensing board``."""
    if not isinstance(jurisdiction, str) or not jurisdiction:
        return "the licensing board"
    country, _, region = jurisdiction.partition("-")
    if country == "US" and region in US_STATES:
        return f"the {US_STATES[region].replace('_', ' ')} licensing board"
    return f"the licensing board of {jurisdiction}"


def utc_datetime(value: object) -> str:
    """``2026-11-01T00:00:00Z`` as ``1 November 2026, 00:00 UTC``."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{moment.day} {moment.strftime('%B %Y, %H:%M')} UTC"


# -- the edge: errors and headers -------------------------------------------------------------


#: Where the callers are software: every answer there, errors included, is JSON (problem JSON
#: for errors), never a page; whatever the method, the size of the body or the failure.
API_PREFIXES = ("/api/", "/.well-known/")
API_PATHS = (vcapi.PATH, "/openapi.json")


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the HTTP API (errors as RFC 9457 problem JSON)."""
    return path.startswith(API_PREFIXES) or path in API_PATHS


def _error_response(status: int, title: str, detail: str) -> Response:
    if is_api_path(request.path):
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        return current_app.response_class(
            json.dumps(problem), status=status, mimetype=PROBLEM_JSON
        )
    page = render_template("verifier/error.html", status=status, title=title, detail=detail)
    return make_response(page, status)


def handle_http_error(exc: HTTPException) -> Response:
    """Translate any werkzeug HTTP error (400, 404, 405, 413...) once, for API or page."""
    status = exc.code or 500
    response = _error_response(status, exc.name, exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_unexpected(exc: Exception) -> Response:
    """Anything else is a 500 that reveals nothing of the failure to the client."""
    current_app.logger.exception("unhandled error", exc_info=exc)
    return _error_response(
        500, "Internal Server Error", "Something went wrong on our side. Please try again."
    )


def add_security_headers(response: Response) -> Response:
    """CSP, Referrer-Policy and nosniff on every response; verdicts are never cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint not in ("static", "verifier.jwks"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint, the error translation, template filters and headers."""
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.after_request(add_security_headers)
    app.add_template_filter(mask_license, "mask_license")
    app.add_template_filter(licensing_board, "licensing_board")
    app.add_template_filter(utc_datetime, "utc")
