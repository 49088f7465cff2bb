"""Request bodies of the staff API, validated with pydantic.

Every field is bounded; unknown fields are refused so a typo is never silently dropped.
JSON bodies are validated strictly: a number field takes a number, never ``true`` or a
string; an integer field takes an integer; a date is a ``YYYY-MM-DD`` string. CSV cells,
which are all text, are converted (``parse(..., strict=False)``). :func:`parse` turns
pydantic's errors into one :class:`ValidationFailed` listing every field and why.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from issuer.errors import ValidationFailed
from issuer.rules.facts import DIDACTIC_MODULES

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
ProgramId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
Hours = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]


def _iso_date(value: object) -> object:
    """``YYYY-MM-DD`` text becomes a date (also under strict validation); a date stays one."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date (YYYY-MM-DD)") from None
    return value


#: A calendar date, written ``YYYY-MM-DD`` in JSON.
Day = Annotated[date, BeforeValidator(_iso_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, str_max_length=500)


class LicenseIn(_Strict):
    """The license as checked with its board."""

    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
    status: Literal["active", "inactive", "expired", "suspended", "revoked", "probation"]
    expires_on: Day
    checked_on: Day
    checked_source: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^https?://\S+$")]


def refuse_future_check(lic: LicenseIn, today: date) -> None:
    """A license cannot have been checked after ``today``: :class:`ValidationFailed`."""
    if lic.checked_on > today:
        detail = f"the license check date {lic.checked_on.isoformat()} is in the future"
        raise ValidationFailed(
            detail, errors=[{"field": "license.checked_on", "detail": "date is in the future"}]
        )


class PractitionerIn(_Strict):
    """``POST /api/v1/practitioners``."""

    given_name: Name
    family_name: Name
    email: Email
    profession: Literal["MD", "DO", "NP", "PA", "RN"]
    license: LicenseIn


LicenseNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
LicenseStatus = Literal["active", "inactive", "expired", "suspended", "revoked", "probation"]
SourceUrl = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^https?://\S+$")]


class _RecordBase(_Strict):
    program_id: ProgramId
    #: A correction: the id of the record (same practitioner, same kind) this one replaces.
    supersedes: RecordId | None = None


class _PractitionerRecordBase(_Strict):
    """Records about the practitioner rather than one program (``program_id`` optional)."""

    program_id: ProgramId | None = None
    supersedes: RecordId | None = None


class DidacticIn(_RecordBase):
    """One didactic module completed."""

    kind: Literal["didactic"]
    module: Literal[DIDACTIC_MODULES]  # type: ignore[valid-type]
    hours: Hours
    completed_on: Day


class HandsOnIn(_RecordBase):
    """One supervised hands-on session."""

    kind: Literal["hands_on"]
    hours: Hours
    supervised_injections: Annotated[int, Field(ge=0, le=10_000)]
    live_models: Annotated[int, Field(ge=0, le=1_000)]
    supervisor: ShortText
    #: The supervisor's own credential, e.g. "MD, TX license MD-000123".
    supervisor_credential: ShortText | None = None
    completed_on: Day


class WrittenExamIn(_RecordBase):
    """One written exam attempt (the score never leaves the issuer)."""

    kind: Literal["written_exam"]
    score: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    max_score: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]
    taken_on: Day

    @model_validator(mode="after")
    def _check_score(self) -> WrittenExamIn:
        if self.score > self.max_score:
            raise ValueError("score is higher than max_score")
        return self


class PracticalExamIn(_RecordBase):
    """One practical exam, judged by an examiner."""

    kind: Literal["practical_exam"]
    passed: bool
    examiner: ShortText
    taken_on: Day


class CECreditsIn(_RecordBase):
    """Continuing-education credits."""

    kind: Literal["ce_credits"]
    credits: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    provider: ShortText
    #: e.g. "AMA PRA Category 1", "ANCC", "AANP", "AAPA" (rules may count only some types).
    credit_type: ShortText | None = None
    completed_on: Day


class LicenseCheckIn(_PractitionerRecordBase):
    """A check of the practitioner's license with its board; the latest one counts."""

    kind: Literal["license_check"]
    status: LicenseStatus
    expires_on: Day
    checked_on: Day
    checked_source: SourceUrl


class SupervisionIn(_PractitionerRecordBase):
    """A supervising physician on record (some jurisdictions require one for RN and PA)."""

    kind: Literal["supervision"]
    physician_name: ShortText
    physician_license_number: LicenseNumber
    physician_jurisdiction: Jurisdiction
    agreement_on: Day


RecordIn = Annotated[
    DidacticIn | HandsOnIn | WrittenExamIn | PracticalExamIn | CECreditsIn | LicenseCheckIn | SupervisionIn,
    Field(discriminator="kind"),
]
#: The field that holds each kind's date.
DATE_FIELDS = {
    "didactic": "completed_on",
    "hands_on": "completed_on",
    "written_exam": "taken_on",
    "practical_exam": "taken_on",
    "ce_credits": "completed_on",
    "license_check": "checked_on",
    "supervision": "agreement_on",
}
#: Records about the practitioner, not one program.
PRACTITIONER_KINDS = ("license_check", "supervision")
RECORD_ADAPTER: TypeAdapter[Any] = TypeAdapter(RecordIn)


class IssueIn(_Strict):
    """``POST /api/v1/credentials``."""

    practitioner_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    program_id: ProgramId


class BulkIssueIn(_Strict):
    """``POST /api/v1/credentials/bulk``."""

    program_id: ProgramId
    dry_run: bool = False


Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReasonIn(_Strict):
    """Body of revoke and suspend: ``reason`` (private), optional public ``category`` (one
    of :data:`vc.protocol.CATEGORIES`) and private ``note``."""

    reason: Reason
    category: Category | None = None
    note: Note | None = None


class LifecycleIn(_Strict):
    """Body of renew and reissue (optional)."""

    reason: Reason | None = None


class CorrectionIn(_Strict):
    """Body of a practitioner correction: the corrected fields and why."""

    given_name: Name | None = None
    family_name: Name | None = None
    profession: Literal["MD", "DO", "NP", "PA", "RN"] | None = None
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> CorrectionIn:
        if self.given_name is None and self.family_name is None and self.profession is None:
            raise ValueError("give at least one of given_name, family_name, profession")
        return self


class TokenIn(_Strict):
    """``POST /api/v1/tokens``: a new bearer token (``expires_in_days`` absent: never expires)."""

    role: Literal["registrar", "certifier", "admin"]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class OptionalReasonIn(_Strict):
    """Body of reinstate."""

    reason: Reason | None = None


T = TypeVar("T")


def parse(adapter: type[T] | TypeAdapter[Any], body: object, *, strict: bool = True) -> T:
    """Validate ``body`` (strictly, unless ``strict=False`` for text such as CSV cells);
    raises :class:`ValidationFailed` listing every bad field."""
    try:
        if isinstance(adapter, TypeAdapter):
            return adapter.validate_python(body, strict=strict)  # type: ignore[no-any-return]
        return adapter.model_validate(body, strict=strict)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = err["loc"][1:] if isinstance(adapter, TypeAdapter) else err["loc"]
            errors.append({"field": ".".join(str(p) for p in loc), "detail": err["msg"]})
        summary = "; ".join(f"{e['field'] or 'body'}: {e['detail']}" for e in errors[:5])
        raise ValidationFailed(f"invalid fields: {summary}", errors=errors) from exc
