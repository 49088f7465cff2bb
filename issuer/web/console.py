"""The staff console (``/console``): sign in, search, records and eligibility, issue,
revoke/suspend/reinstate with a reason, and the audit trail where one exists.

Every action goes through the domain packages (:mod:`issuer.records`,
:mod:`issuer.credentials`), with the API's role rules: any signed-in role may look;
``certifier`` (or ``admin``) issues; only ``admin`` changes a status.
Sessions are held on the server (:func:`issuer.access.session_account`): Flask's signed
cookie (HttpOnly, SameSite=Lax, Secure under https) carries only the session's random
secret and a CSRF token, so signing out, a password change or a lockout ends a session
for every copy of its cookie, and the idle and absolute timeouts are the server's. Every
POST must carry the CSRF token and, when the browser sends one, an ``Origin`` of this issuer.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from issuer import access
from issuer.config import Config
from issuer.credentials import bulk, candidates, issuance, status_changes
from issuer.errors import Conflict, Forbidden, IssuerError, NotEligible, NotFound, ValidationFailed
from issuer.records import csv_import, evidence, practitioners, schemas
from issuer.records.csv_format import ImportRefused
from issuer.store.models import Credential, Practitioner
from issuer.web import audit_view, console_text
from issuer.web.edge import ctx, db
from vc.protocol import CATEGORIES

bp = Blueprint("console", __name__, url_prefix="/console")

SECRET_FILE = "session-secret"
ACTION_WORDS = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}


# --- set-up ------------------------------------------------------------------------------------


def secret_key(config: Config) -> str:
    """``ISSUER_SECRET_KEY``, or for development one generated once and kept (0600) beside the keys."""
    if config.secret_key:
        return config.secret_key
    folder = Path(config.keys_dir)
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def install(app: Flask, config: Config) -> None:
    """Session settings and the blueprint."""
    app.secret_key = secret_key(config)
    app.config.update(
        SESSION_COOKIE_NAME="issuer_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.issuer_url.startswith("https://"),
        SESSION_COOKIE_PATH="/console",
    )
    app.register_blueprint(bp)


# --- guards ------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_post() -> None:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("cross-site form posts are refused")
    origin = request.headers.get("Origin")
    if origin is not None and origin not in (ctx().config.issuer_url, request.host_url.rstrip("/")):
        raise Forbidden("cross-site form posts are refused")
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
        raise Forbidden(
            "this form has expired or did not come from the console; reload the page and try again"
        )


@bp.before_request
def _guard() -> Response | None:
    if request.method == "POST":
        _check_post()
    if request.endpoint == "console.login":
        return None
    account = access.session_account(db(), ctx(), session.get("sid"))
    if account is None:
        session.clear()
        return redirect(url_for("console.login"))
    g.staff = account
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    # Not no-referrer: under it browsers send "Origin: null" with same-origin form posts,
    # and the Origin check above needs the real one. Nothing leaks to other sites.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def _template_values() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "issuer_name": ctx().config.issuer_name,
        "me": g.get("staff"),
        "can": _can,
    }


def _can(action: str) -> bool:
    role = g.staff.role if "staff" in g else ""
    if action == "issue":
        return role in ("certifier", "admin")
    return role == "admin"


def _allow(action: str) -> None:
    if not _can(action):
        needs = "certifier or admin" if action == "issue" else "admin"
        raise Forbidden(f"role {g.staff.role} may not {action} (needs {needs})")


def _actor() -> str:
    return f"staff:{g.staff.id}"


# --- sign in and out -----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """Sign-in form; on success a fresh session (new CSRF token) and the search page."""
    if request.method == "GET":
        return render_template("issuer/console/login.html")
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    try:
        account = access.sign_in(db(), ctx(), email, password)
    except access.LoginFailed as exc:
        return render_template("issuer/console/login.html", error=exc.detail, email=email), exc.http_status
    session.clear()
    session["sid"] = access.start_session(db(), ctx(), account)
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(url_for("console.index"))


@bp.post("/logout")
def logout() -> Response:
    """End the session on the server (every copy of the cookie) and in this browser."""
    access.end_session(db(), ctx(), session.get("sid"))
    session.clear()
    return redirect(url_for("console.login"))


# --- looking -------------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    """Search practitioners (name, e-mail, license number) and credentials (id)."""
    query = request.args.get("q", "").strip()[:100]
    practitioners: list[Practitioner] = []
    credentials: list[Credential] = []
    if query:
        like = f"%{query.lower()}%"
        practitioners = list(
            db().scalars(
                select(Practitioner)
                .where(
                    or_(
                        Practitioner.given_name.ilike(like),
                        Practitioner.family_name.ilike(like),
                        Practitioner.email.ilike(like),
                        Practitioner.license_number.ilike(like),
                        (Practitioner.given_name + " " + Practitioner.family_name).ilike(like),
                    )
                )
                .order_by(Practitioner.family_name, Practitioner.given_name)
                .limit(50)
            )
        )
        credentials = list(
            db().scalars(
                select(Credential)
                .where(
                    or_(
                        Credential.id.ilike(f"{query.lower()}%"),
                        Credential.practitioner_id.in_([p.id for p in practitioners]),
                    )
                )
                .order_by(Credential.issued_at.desc())
                .limit(20)
            )
        )
    else:
        credentials = list(
            db().scalars(select(Credential).order_by(Credential.issued_at.desc()).limit(20))
        )
    return render_template(
        "issuer/console/index.html",
        query=query,
        practitioners=practitioners,
        credentials=[(c, issuance.credential_json(ctx(), c)) for c in credentials],
    )


@bp.get("/practitioners/<practitioner_id>")
def practitioner(practitioner_id: str) -> str:
    """A practitioner's license, records, eligibility per program and credentials."""
    found = practitioners.get_practitioner(db(), practitioner_id)
    eligibility = {
        program_id: candidates.eligibility_json(
            program_id, candidates.eligibility(db(), ctx(), found.id, program_id)
        )
        for program_id in ctx().programs
    }
    held = db().scalars(
        select(Credential).where(Credential.practitioner_id == found.id).order_by(Credential.issued_at.desc())
    )
    return render_template(
        "issuer/console/practitioner.html",
        p=found,
        records=[evidence.record_json(r) for r in found.records],
        eligibility=eligibility,
        programs=ctx().programs,
        credentials=[(c, issuance.credential_json(ctx(), c)) for c in held],
        audit=audit_view.entries(db(), found.id),
    )


@bp.get("/credentials/<credential_id>")
def credential(credential_id: str) -> str:
    """A credential's status, its actions and its audit trail."""
    row = issuance.get_credential(db(), credential_id)
    return render_template(
        "issuer/console/credential.html",
        row=row,
        info=issuance.credential_json(ctx(), row),
        program=ctx().programs.get(row.program_id),
        audit=audit_view.entries(db(), row.id),
        audit_available=audit_view.available(),
    )


# --- doing ---------------------------------------------------------------------------------------


@bp.post("/practitioners/<practitioner_id>/issue")
def issue(practitioner_id: str) -> Response:
    """Issue a credential (certifier or admin); unmet requirements are listed on the page."""
    _allow("issue")
    program_id = request.form.get("program_id", "")
    try:
        row = issuance.issue(db(), ctx(), practitioner_id, program_id, _actor())
    except NotFound:
        raise
    except (NotEligible, Conflict, ValidationFailed) as exc:
        flash(f"Not issued: {exc.detail}", "error")
        return redirect(url_for("console.practitioner", practitioner_id=practitioner_id))
    flash("Credential issued.", "ok")
    return redirect(url_for("console.credential", credential_id=row.id))


@bp.post("/credentials/<credential_id>/<action>")
def change_status(credential_id: str, action: str) -> Response:
    """Revoke, suspend (both with a reason) or reinstate; admin only, as in the API."""
    if action not in status_changes.ACTIONS:
        raise NotFound(f"no action {action!r}")
    _allow(action)
    reason = request.form.get("reason", "").strip()
    if action == "revoke" and request.form.get("confirm") != "yes":
        flash("Not revoked: tick the box to confirm that a revocation cannot be undone.", "error")
        return redirect(url_for("console.credential", credential_id=credential_id))
    try:
        model: Any = schemas.OptionalReasonIn if action == "reinstate" else schemas.ReasonIn
        fields = {} if action == "reinstate" else _category_and_note()
        sent = {"reason": reason, **fields} if reason or action != "reinstate" else {}
        body: Any = schemas.parse(model, sent)
        status_changes.change_status(
            db(), ctx(), credential_id, action, body.reason, _actor(),
            category=getattr(body, "category", None), note=getattr(body, "note", None),
        )
    except NotFound:
        raise
    except (Conflict, ValidationFailed) as exc:
        message = exc.detail
        if isinstance(exc, ValidationFailed) and not reason:
            message = "give a reason"
        flash(f"Not {ACTION_WORDS[action]}: {message}", "error")
    except IssuerError:
        raise
    else:
        flash(f"Credential {ACTION_WORDS[action]}.", "ok")
    return redirect(url_for("console.credential", credential_id=credential_id))


def _category_and_note() -> dict[str, str]:
    """The public category and the private note of a revoke or suspend form (when given)."""
    fields = {}
    for name in ("category", "note"):
        value = request.form.get(name, "").strip()
        if value:
            fields[name] = value
    return fields


# --- staff work: readable values, issuing to many, importing --------------------------------------


@bp.context_processor
def _console_words() -> dict[str, Any]:
    return {
        "shown": console_text.shown,
        "details": console_text.record_details,
        "who": _who,
        "categories": CATEGORIES,
    }


def _who(actor: str | None) -> str:
    """``actor`` as a person reads it (names looked up once per request)."""
    if not actor:
        return console_text.NOTHING
    names: dict[str, str] = g.setdefault("actor_names", {})
    if actor not in names:
        names.update(console_text.actor_names(db(), [actor]))
    return names.get(actor, actor)


#: Most practitioners issued to in one console request.
MAX_SELECTED = 500


@bp.route("/awaiting", methods=["GET", "POST"])
def awaiting() -> Response | str:
    """Who is eligible for a program and not yet certified; certifiers issue to the selected
    (:func:`issuer.credentials.bulk.issue_all_eligible`, so each still holds one current
    credential: one issued meanwhile is reported as already certified)."""
    programs = ctx().programs
    program_id = request.values.get("program_id") or next(iter(programs), "")
    if program_id not in programs:
        raise NotFound(f"no program {program_id!r}")
    if request.method == "POST":
        _allow("issue")
        selected = request.form.getlist("practitioner_id")[:MAX_SELECTED]
        if not selected:
            flash("Nothing issued: select at least one practitioner.", "error")
        else:
            summary = bulk.issue_all_eligible(db(), ctx(), program_id, _actor(), only=set(selected))
            _flash_summary(summary)
        return redirect(url_for("console.awaiting", program_id=program_id))
    preview = bulk.issue_all_eligible(db(), ctx(), program_id, _actor(), dry_run=True)
    return render_template(
        "issuer/console/awaiting.html", programs=programs, program_id=program_id, people=preview.issued
    )


def _flash_summary(summary: bulk.Summary) -> None:
    if summary.issued:
        flash(f"Issued {len(summary.issued)} credential(s).", "ok")
    for item in summary.already_certified:
        flash(f"Not issued: {item['name']} ({item['license']}) is already certified "
              f"(credential {item['credential_id']}).", "error")
    for item in summary.not_eligible:
        unmet = "; ".join(u["detail"] for u in item["unmet"])
        flash(f"Not issued: {item['name']} ({item['license']}) is not eligible: {unmet}", "error")
    for item in summary.failed:
        flash(f"Not issued: {item['name']} ({item['license']}): {item['detail']}", "error")


#: Largest CSV file the console takes (the API takes more; split a larger file, or use it).
MAX_CONSOLE_IMPORT_BYTES = 5 * 1024 * 1024


@bp.route("/import", methods=["GET", "POST"])
def import_records() -> tuple[str, int] | str:
    """CSV import in two steps: upload for a dry run (a report per line, nothing written),
    then import the same file (carried in the form) with one more button."""
    if request.method == "GET":
        return render_template("issuer/console/import.html", report=None)
    request.max_content_length = MAX_CONSOLE_IMPORT_BYTES + 64 * 1024
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_CONSOLE_IMPORT_BYTES + 1)
    else:
        try:
            raw = base64.b64decode(request.form.get("content", ""), validate=True)
        except ValueError:
            raw = b""
    if not raw:
        return render_template("issuer/console/import.html", report=None, error="Choose a CSV file."), 422
    if len(raw) > MAX_CONSOLE_IMPORT_BYTES:
        error = f"The file is larger than {MAX_CONSOLE_IMPORT_BYTES // (1024 * 1024)} MiB; split it."
        return render_template("issuer/console/import.html", report=None, error=error), 413
    dry_run = request.form.get("step") != "import"
    skip_invalid = request.form.get("skip_invalid") == "yes"
    try:
        report = csv_import.import_csv(db(), ctx(), raw, _actor(), dry_run=dry_run, skip_invalid=skip_invalid)
    except ImportRefused as exc:
        return render_template(
            "issuer/console/import.html", report=exc.extensions, error=exc.detail,
            content=base64.b64encode(raw).decode("ascii"),
        ), 422
    except (ValidationFailed, Conflict) as exc:
        return render_template("issuer/console/import.html", report=None, error=exc.detail), exc.http_status
    return render_template(
        "issuer/console/import.html", report=report.as_dict(), content=base64.b64encode(raw).decode("ascii")
    )
