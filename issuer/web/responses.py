"""What the issuer's JSON API answers, as pydantic models: the source of the response schemas
in its OpenAPI document (:mod:`issuer.web.openapi`).

The views build their bodies as before (``*_json`` functions of the domain modules); these
models describe those bodies, and the contract tests (``tests/contract``) check every answer
of a running server against them. A body member the model does not name is refused
(``additionalProperties: false``), so a new field must be documented here to ship.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vc import openapi

Profession = Literal["MD", "DO", "NP", "PA", "RN"]
LicenseStatus = Literal["active", "inactive", "expired", "suspended", "revoked", "probation"]
CredentialStatus = Literal["active", "suspended", "revoked", "superseded", "expired"]
#: The public reason categories (:data:`vc.protocol.CATEGORIES`; a test keeps them equal).
Category = Literal[
    "training_requirements_not_met", "license_action", "issued_in_error", "fraud", "holder_request",
    "administrative", "unspecified",
]
Role = Literal["registrar", "certifier", "admin"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(_Out):
    """One bad field of a request (``field`` uses dots: ``license.checked_on``)."""

    field: str
    detail: str
    line: str | None = Field(
        default=None, description="A CSV file's line, as digits in a string (errors about the whole file)."
    )


class Outcome(_Out):
    """One requirement of a program, met or not, with the numbers in words."""

    id: str
    ok: bool
    detail: str


class IssuerProblem(openapi.Problem):
    """RFC 9457 problem details as the issuer answers them; ``errors`` lists each bad field
    (422), ``unmet`` each requirement not met (422 ``not-eligible``); a conflict may name
    ``practitioner_id``, ``credential_id``, ``superseded_by`` or ``current_status``."""

    errors: list[FieldError] | None = None
    unmet: list[Outcome] | None = None


# --- practitioners and records ------------------------------------------------------------------


class LicenseOut(_Out):
    """The license as last checked with its board."""

    number: str
    jurisdiction: str
    status: LicenseStatus
    expires_on: date
    checked_on: date
    checked_source: str


class Practitioner(_Out):
    """A registered practitioner (``POST /api/v1/practitioners``)."""

    id: str
    given_name: str
    family_name: str
    email: str
    profession: Profession
    license: LicenseOut
    created_at: datetime
    created_by: str


class _RecordOut(_Out):
    id: str
    program_id: str | None = Field(description="null for records about the practitioner, not one program")
    supersedes: str | None
    superseded_by: str | None
    created_at: datetime
    created_by: str


class DidacticRecord(_RecordOut):
    """One didactic module completed."""

    kind: Literal["didactic"]
    module: str
    hours: float
    completed_on: date


class HandsOnRecord(_RecordOut):
    """One supervised hands-on session."""

    kind: Literal["hands_on"]
    hours: float
    supervised_injections: int
    live_models: int
    supervisor: str
    supervisor_credential: str | None = None
    completed_on: date


class WrittenExamRecord(_RecordOut):
    """One written exam attempt (staff only: the score never reaches a credential)."""

    kind: Literal["written_exam"]
    score: float
    max_score: float
    taken_on: date


class PracticalExamRecord(_RecordOut):
    """One practical exam."""

    kind: Literal["practical_exam"]
    passed: bool
    examiner: str
    taken_on: date


class CECreditsRecord(_RecordOut):
    """Continuing-education credits."""

    kind: Literal["ce_credits"]
    credits: float
    provider: str
    credit_type: str | None = None
    completed_on: date


class LicenseCheckRecord(_RecordOut):
    """A check of the license with its board."""

    kind: Literal["license_check"]
    status: LicenseStatus
    expires_on: date
    checked_on: date
    checked_source: str


class SupervisionRecord(_RecordOut):
    """A supervising physician on record."""

    kind: Literal["supervision"]
    physician_name: str
    physician_license_number: str
    physician_jurisdiction: str
    agreement_on: date


Record = Annotated[
    DidacticRecord
    | HandsOnRecord
    | WrittenExamRecord
    | PracticalExamRecord
    | CECreditsRecord
    | LicenseCheckRecord
    | SupervisionRecord,
    Field(discriminator="kind"),
]


class PractitionerDetail(Practitioner):
    """A practitioner with every record, superseded ones marked ``superseded_by``."""

    records: list[Record]
    license_checks: list[LicenseCheckRecord]


class Eligibility(_Out):
    """Every requirement of a program, met or not."""

    program_id: str
    eligible: bool
    requirements: list[Outcome]
    unmet: list[Outcome]


class Accreditation(_Out):
    """Who accredits a program."""

    body: str
    id: str


class Rule(BaseModel):
    """One rule of a program: its ``kind`` and that kind's fields (see the README's table)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    professions: list[str] | None = None


class Program(_Out):
    """A program and its requirements."""

    id: str
    name: str
    description: str
    criteria: str
    accreditation: Accreditation
    cme_credits: float
    validity_months: int
    requirements: list[Rule]
    jurisdictions: dict[str, list[Rule]]


class Programs(_Out):
    """``GET /api/v1/programs``."""

    programs: list[Program]


# --- credentials -----------------------------------------------------------------------------


class StatusEntry(_Out):
    """A credential's position in one status list."""

    purpose: str
    list_url: str
    index: int


class CredentialInfo(_Out):
    """Metadata and current status of a credential (``status_reason`` and ``status_note``
    are private: staff only)."""

    id: str
    practitioner_id: str
    program_id: str
    status: CredentialStatus
    status_reason: str | None
    status_category: str | None
    status_note: str | None
    superseded_by: str | None
    status_changed_at: datetime | None
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    kid: str
    status_entries: list[StatusEntry]
    holder_url: str
    verify_url: str
    jwt_url: str
    qr_png_url: str
    qr_svg_url: str


class IssuedCredential(CredentialInfo):
    """A credential just issued: the metadata and the compact JWT (``application/vc+jwt``)."""

    credential: str


class ReplacementCredential(IssuedCredential):
    """A renewal or re-issue: the new credential and the id of the one it supersedes."""

    supersedes: str


class CorrectedPractitioner(Practitioner):
    """A corrected practitioner and their current credentials, re-issued."""

    reissued: list[CredentialInfo]


class BulkCounts(_Out):
    """How many practitioners fell in each group."""

    issued: int
    not_eligible: int
    already_certified: int
    failed: int


class _Who(_Out):
    practitioner_id: str
    name: str
    license: str


class BulkIssued(_Who):
    """Issued (or, in a dry run, would be: no ``credential_id``)."""

    credential_id: str | None = None


class BulkNotEligible(_Who):
    """Not eligible, with every requirement not met."""

    unmet: list[Outcome]


class BulkAlreadyCertified(_Who):
    """Already holds a current credential."""

    credential_id: str | None


class BulkFailed(_Who):
    """Refused for another reason."""

    detail: str


class BulkSummary(_Out):
    """What a bulk run did, or in a dry run would do."""

    program_id: str
    dry_run: bool
    counts: BulkCounts
    issued: list[BulkIssued]
    not_eligible: list[BulkNotEligible]
    already_certified: list[BulkAlreadyCertified]
    failed: list[BulkFailed]


class ImportCounts(_Out):
    """Lines of each outcome."""

    created: int
    updated: int
    unchanged: int
    refused: int


class ImportLine(_Out):
    """What the import did, or would do, with one line of the file."""

    line: int
    status: Literal["created", "updated", "unchanged", "refused"]
    license: str
    practitioner_id: str | None
    kind: str | None
    record_id: str | None
    note: str
    errors: list[FieldError]


class ImportReport(_Out):
    """The per-line outcome of a CSV import."""

    dry_run: bool
    written: bool
    summary: ImportCounts
    lines: list[ImportLine]


class AuditReport(_Out):
    """The audit chain check."""

    ok: bool
    checked: int
    broken_seq: int | None
    problem: str | None


class Token(_Out):
    """An API token as it may be shown: never its secret nor its hash."""

    id: str
    label: str
    role: Role
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class NewToken(Token):
    """A token just made: ``token`` is its secret, in this answer only."""

    token: str


class Tokens(_Out):
    """Every token."""

    tokens: list[Token]


# --- public ------------------------------------------------------------------------------------


#: The public keys that verify credentials still in use, and one of them (``/keys/<kid>``).
PublicJwk = openapi.PublicJwk
PublicJwks = openapi.PublicJwks


class Successor(_Out):
    """The credential that replaced a superseded one."""

    id: str
    holder_url: str
    verify_url: str


class PublicStatus(_Out):
    """What anyone may know of a credential's lifecycle: never the private reason or note."""

    id: str
    status: CredentialStatus
    category: Category | None
    category_text: str | None
    superseded_by: str | None
    current: Successor | None


#: Schemas of the documents that are not JSON objects of ours.
JWT_TEXT: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"}
BINARY: dict[str, Any] = {"type": "string", "contentMediaType": "application/octet-stream"}
TEXT: dict[str, Any] = {"type": "string"}
JSON_LD_CONTEXT: dict[str, Any] = {"type": "object", "required": ["@context"]}
OPENAPI_DOCUMENT: dict[str, Any] = {"type": "object", "required": ["openapi", "info", "paths"]}
