"""The staff API, version 1 (``/api/v1``), authenticated with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from issuer import access, audit
from issuer.credentials import bulk, candidates, issuance, status_changes, supersession
from issuer.errors import BadRequest, PayloadTooLarge, ValidationFailed
from issuer.records import csv_import, evidence, practitioners, schemas
from issuer.web.edge import ctx, db, json_body, require

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _created(body: dict[str, Any], location: str) -> tuple[Response, int, dict[str, str]]:
    return jsonify(body), 201, {"Location": location}


@bp.get("/programs")
@require("registrar", "certifier")
def programs() -> Response:
    """The programs and their requirements."""
    return jsonify({"programs": [p.describe() for p in ctx().programs.values()]})


@bp.post("/practitioners")
@require("registrar")
def create_practitioner() -> tuple[Response, int, dict[str, str]]:
    """Register a practitioner."""
    body = schemas.parse(schemas.PractitionerIn, json_body())
    practitioner = practitioners.create_practitioner(db(), ctx(), body, g.actor)
    return _created(practitioners.practitioner_json(practitioner), f"/api/v1/practitioners/{practitioner.id}")


@bp.get("/practitioners/<practitioner_id>")
@require("registrar", "certifier")
def get_practitioner(practitioner_id: str) -> Response:
    """A practitioner and their records."""
    practitioner = practitioners.get_practitioner(db(), practitioner_id)
    return jsonify(
        {
            **practitioners.practitioner_json(practitioner),
            **evidence.records_json(practitioner),
        }
    )


@bp.post("/practitioners/<practitioner_id>/records")
@require("registrar")
def add_record(practitioner_id: str) -> tuple[Response, int, dict[str, str]]:
    """Add one completion record."""
    body: Any = schemas.parse(schemas.RECORD_ADAPTER, json_body())
    record = evidence.add_record(db(), ctx(), practitioner_id, body, g.actor)
    return _created(evidence.record_json(record), f"/api/v1/practitioners/{practitioner_id}")


@bp.get("/practitioners/<practitioner_id>/eligibility")
@require("registrar", "certifier")
def eligibility(practitioner_id: str) -> Response:
    """Every requirement of a program, met or not, with reasons."""
    program_id = request.args.get("program", "")
    if not program_id:
        raise ValidationFailed(
            "add ?program=<program-id>", errors=[{"field": "program", "detail": "required"}]
        )
    outcomes = candidates.eligibility(db(), ctx(), practitioner_id, program_id)
    return jsonify(candidates.eligibility_json(program_id, outcomes))


@bp.post("/credentials")
@require("certifier")
def issue() -> tuple[Response, int, dict[str, str]]:
    """Issue a credential if every requirement is met (422 with the unmet ones otherwise)."""
    body = schemas.parse(schemas.IssueIn, json_body())
    row = issuance.issue(db(), ctx(), body.practitioner_id, body.program_id, g.actor)
    info = issuance.credential_json(ctx(), row)
    return _created({**info, "credential": row.token}, f"/api/v1/credentials/{row.id}")


@bp.post("/credentials/bulk")
@require("certifier")
def issue_bulk() -> Response:
    """Issue to every eligible practitioner without a current credential (or, with
    ``dry_run``, say who would get one); a summary with the reasons of the others."""
    body = schemas.parse(schemas.BulkIssueIn, json_body())
    summary = bulk.issue_all_eligible(db(), ctx(), body.program_id, g.actor, dry_run=body.dry_run)
    return jsonify(summary.as_dict())


#: The import endpoint reads a larger body than the rest of the API (1 MiB).
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@bp.post("/imports")
@require("registrar")
def import_records() -> Response:
    """Import a CSV file (``text/csv`` body, at most 20 MiB): ``?dry_run=true`` reports per
    line and writes nothing; ``?skip_invalid=true`` writes the accepted lines only."""
    request.max_content_length = MAX_IMPORT_BYTES
    if request.mimetype not in ("text/csv", "application/csv", "text/plain"):
        raise BadRequest("send the CSV file as the body with Content-Type: text/csv")
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(
            f"the CSV file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB; split it",
            limit_bytes=MAX_IMPORT_BYTES,
        ) from None
    report = csv_import.import_csv(
        db(), ctx(), raw, g.actor, dry_run=_flag("dry_run"), skip_invalid=_flag("skip_invalid")
    )
    return jsonify(report.as_dict())


def _flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValidationFailed(
            f"?{name} must be true or false", errors=[{"field": name, "detail": "not a boolean"}]
        )
    return value in ("true", "1", "yes")


@bp.get("/records.csv")
@require("registrar", "certifier")
def export_records() -> Response:
    """Practitioners and current records in the import layout; cells that a spreadsheet
    would run as formulas are prefixed with ``'``."""
    program_id = request.args.get("program") or None
    if program_id is not None:
        ctx().program(program_id)
    return Response(
        csv_import.export_csv(db(), program_id),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="records.csv"'},
    )


@bp.get("/credentials/<credential_id>")
@require("registrar", "certifier")
def credential(credential_id: str) -> Response:
    """Metadata and current status of a credential."""
    return jsonify(issuance.credential_json(ctx(), issuance.get_credential(db(), credential_id)))


def _status_change(credential_id: str, action: str) -> Response:
    raw = json_body() if request.content_length else {}
    model = schemas.OptionalReasonIn if action == "reinstate" else schemas.ReasonIn
    body: Any = schemas.parse(model, raw)
    row = status_changes.change_status(
        db(), ctx(), credential_id, action, body.reason, g.actor,
        category=getattr(body, "category", None), note=getattr(body, "note", None),
    )
    return jsonify(issuance.credential_json(ctx(), row))


@bp.post("/credentials/<credential_id>/revoke")
@require("admin")
def revoke(credential_id: str) -> Response:
    """Revoke for good."""
    return _status_change(credential_id, "revoke")


@bp.post("/credentials/<credential_id>/suspend")
@require("admin")
def suspend(credential_id: str) -> Response:
    """Suspend until reinstated."""
    return _status_change(credential_id, "suspend")


@bp.post("/credentials/<credential_id>/reinstate")
@require("admin")
def reinstate(credential_id: str) -> Response:
    """Lift a suspension."""
    return _status_change(credential_id, "reinstate")


def _lifecycle_body() -> Any:
    raw = json_body() if request.content_length else {}
    return schemas.parse(schemas.LifecycleIn, raw)


@bp.post("/credentials/<credential_id>/renew")
@require("certifier")
def renew(credential_id: str) -> tuple[Response, int, dict[str, str]]:
    """Renew: eligibility checked again, a new validity period; the old one is superseded."""
    body = _lifecycle_body()
    row = supersession.renew(db(), ctx(), credential_id, g.actor, body.reason)
    info = issuance.credential_json(ctx(), row)
    body_out = {**info, "credential": row.token, "supersedes": credential_id}
    return _created(body_out, f"/api/v1/credentials/{row.id}")


@bp.post("/credentials/<credential_id>/reissue")
@require("admin")
def reissue(credential_id: str) -> tuple[Response, int, dict[str, str]]:
    """Re-sign with the active key (same validity period, new id); the old one is superseded."""
    body = _lifecycle_body()
    row = supersession.reissue(db(), ctx(), credential_id, g.actor, body.reason)
    info = issuance.credential_json(ctx(), row)
    body_out = {**info, "credential": row.token, "supersedes": credential_id}
    return _created(body_out, f"/api/v1/credentials/{row.id}")


@bp.post("/practitioners/<practitioner_id>/correction")
@require("admin")
def correct_practitioner(practitioner_id: str) -> Response:
    """Correct a practitioner's name or profession; their current credentials are re-issued."""
    body = schemas.parse(schemas.CorrectionIn, json_body())
    changes = {k: v for k, v in body.model_dump(exclude={"reason"}).items() if v is not None}
    practitioner, reissued = supersession.correct_practitioner(
        db(), ctx(), practitioner_id, changes, body.reason, g.actor
    )
    return jsonify(
        {
            **practitioners.practitioner_json(practitioner),
            "reissued": [issuance.credential_json(ctx(), row) for row in reissued],
        }
    )


@bp.get("/audit/verify")
@require("admin")
def audit_verify() -> Response:
    """Check the audit chain; names the first broken entry."""
    report = audit.verify(db())
    return jsonify({"ok": report.ok, "checked": report.checked, "broken_seq": report.broken_seq,
                    "problem": report.problem})


# --- API tokens (admin) --------------------------------------------------------------------------


@bp.get("/tokens")
@require("admin")
def list_tokens() -> Response:
    """Every token: label, role, state, created, last used, expiry; never a secret."""
    now = ctx().now()
    return jsonify({"tokens": [access.token_json(t, now) for t in access.list_tokens(db())]})


@bp.post("/tokens")
@require("admin")
def create_token() -> tuple[Response, int, dict[str, str]]:
    """A new token; its secret is in this answer only (``token``), never again."""
    body = schemas.parse(schemas.TokenIn, json_body())
    row, secret = access.new_token(db(), ctx(), body.role, body.label, g.actor, body.expires_in_days)
    return _created({**access.token_json(row, ctx().now()), "token": secret}, f"/api/v1/tokens/{row.id}")


@bp.post("/tokens/<token_id>/revoke")
@require("admin")
def revoke_token(token_id: str) -> Response:
    """Revoke a token: its next request gets 401."""
    row = access.revoke_token(db(), ctx(), token_id, g.actor)
    return jsonify(access.token_json(row, ctx().now()))
