"""The certification credential: W3C VC 2.0 shaped as an Open Badges 3.0 credential.

:func:`build_claims` is the one place the credential JSON is shaped; :func:`check_claims`
is the one place a received payload is judged against that shape; :func:`summary` is the
plain view a verifier shows. Nothing here touches Flask, a database or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from vc import protocol
from vc.errors import InvalidClaims
from vc.jsonld import REFRESH_TYPE

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: Path, under the issuer's URL, of the JSON-LD context defining our own terms.
CONTEXT_PATH = "/contexts/botox-credentials-v1.jsonld"
TYP = "vc+jwt"
CTY = "vc"
MEDIA_TYPE = "application/vc+jwt"
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]

PROFESSIONS = {
    "MD": "Physician (MD)",
    "DO": "Physician (DO)",
    "NP": "Nurse Practitioner",
    "PA": "Physician Assistant",
    "RN": "Registered Nurse",
}


def context_url(issuer_id: str) -> str:
    """URL of the context the issuer serves for our own terms."""
    return issuer_id.rstrip("/") + CONTEXT_PATH


def refresh_service(issuer_id: str, credential_id: str) -> dict[str, str]:
    """The ``refreshService`` of a credential: a GET on its ``id`` returns the current
    credential of its chain (this one, or the one that superseded it). This is what the
    ``refresh`` status purpose of the Bitstring Status List points a holder to."""
    return {"id": issuer_id.rstrip("/") + protocol.refresh_path(credential_id), "type": REFRESH_TYPE}


def accreditation(body: str, reference: str) -> dict[str, str]:
    """The accreditation object: the body's name and its own reference for the program
    (free text such as ``ECAC-2026-0042``, so ``identifier``, never ``id``, which VC 2.0
    readers take for a URL)."""
    return {"body": body, "identifier": reference}


def with_current_shape(claims: dict[str, Any], issuer_id: str, credential_id: str) -> dict[str, Any]:
    """A copy of an earlier credential's claims in today's shape, for a re-issue under
    ``credential_id``: ``refreshService`` added, ``accreditation.id`` renamed."""
    result = dict(claims)
    result["refreshService"] = refresh_service(issuer_id, credential_id)
    subject = result.get("credentialSubject")
    if isinstance(subject, dict) and isinstance(subject.get("achievement"), dict):
        achievement = dict(subject["achievement"])
        old = achievement.get("accreditation")
        if isinstance(old, dict) and "id" in old:
            achievement["accreditation"] = accreditation(str(old.get("body", "")), str(old["id"]))
        result["credentialSubject"] = {**subject, "achievement": achievement}
    return result


def timestamp(moment: datetime) -> str:
    """XML Schema dateTimeStamp in UTC with a ``Z``, to the second."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object, name: str) -> datetime:
    """Parse a dateTimeStamp (timezone required); raises :class:`InvalidClaims`."""
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidClaims(f"{name} must be a date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidClaims(f"{name} is not a date-time: {value!r}") from exc
    if moment.tzinfo is None:
        raise InvalidClaims(f"{name} has no time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class LicenseEvidence:
    """The medical license as the issuer checked it."""

    jurisdiction: str
    number: str
    status: str
    expires_on: date
    checked_on: date
    checked_source: str


@dataclass(frozen=True)
class ExamResult:
    """One passed exam."""

    taken_on: date
    examiner: str | None = None


@dataclass(frozen=True)
class TrainingResults:
    """What the candidate completed, as the credential reports it (no scores)."""

    didactic_hours: float
    didactic_modules: tuple[str, ...]
    hands_on_hours: float
    supervised_injections: int
    live_models: int
    written_exam: ExamResult
    practical_exam: ExamResult
    ce_credits: float = 0.0


@dataclass(frozen=True)
class Achievement:
    """The program the credential certifies."""

    program_id: str
    name: str
    description: str
    criteria: str
    accreditation_body: str
    accreditation_id: str
    cme_credits: float


@dataclass(frozen=True)
class CredentialData:
    """Everything needed to shape one credential."""

    credential_id: str
    issuer_id: str
    issuer_name: str
    given_name: str
    family_name: str
    profession: str
    license: LicenseEvidence
    achievement: Achievement
    results: TrainingResults
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    status: list[dict[str, str]] = field(default_factory=list)


def build_claims(data: CredentialData) -> dict[str, Any]:
    """The JWT claims set: the credential itself plus ``iss``, ``iat``, ``exp``, ``jti``."""
    if data.profession not in PROFESSIONS:
        raise ValueError(f"unknown profession {data.profession!r}")
    if data.issued_at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    full_name = f"{data.given_name} {data.family_name}"
    lic, ach, res = data.license, data.achievement, data.results
    achievement_url = f"{data.issuer_id.rstrip('/')}/programs/{ach.program_id}"
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, OB_CONTEXT, context_url(data.issuer_id)],
        "id": f"urn:uuid:{data.credential_id}",
        "type": list(CREDENTIAL_TYPES),
        "name": ach.name,
        "issuer": {"id": data.issuer_id, "type": ["Profile"], "name": data.issuer_name},
        "validFrom": timestamp(data.valid_from),
        "validUntil": timestamp(data.valid_until),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "identityHash": full_name,
                    "hashed": False,
                }
            ],
            "name": full_name,
            "givenName": data.given_name,
            "familyName": data.family_name,
            "profession": data.profession,
            "professionName": PROFESSIONS[data.profession],
            "license": {
                "jurisdiction": lic.jurisdiction,
                "number": lic.number,
                "statusAtCheck": lic.status,
                "expiresOn": lic.expires_on.isoformat(),
                "checkedOn": lic.checked_on.isoformat(),
                "checkedSource": lic.checked_source,
            },
            "achievement": {
                "id": achievement_url,
                "type": ["Achievement"],
                "achievementType": "Certification",
                "humanCode": ach.program_id,
                "name": ach.name,
                "description": ach.description,
                "criteria": {"narrative": ach.criteria},
                "creditsAvailable": ach.cme_credits,
                "accreditation": accreditation(ach.accreditation_body, ach.accreditation_id),
            },
            "creditsEarned": res.ce_credits,
            "trainingResults": {
                "didacticHours": res.didactic_hours,
                "didacticModules": list(res.didactic_modules),
                "handsOnHours": res.hands_on_hours,
                "supervisedInjections": res.supervised_injections,
                "liveModels": res.live_models,
                "writtenExam": {"passed": True, "date": res.written_exam.taken_on.isoformat()},
                "practicalExam": {
                    "passed": True,
                    "date": res.practical_exam.taken_on.isoformat(),
                    "examiner": res.practical_exam.examiner,
                },
            },
            "result": [{"type": ["Result"], "status": "Completed"}],
        },
        "credentialStatus": list(data.status),
        "refreshService": refresh_service(data.issuer_id, data.credential_id),
    }
    credential["iss"] = data.issuer_id
    credential["iat"] = int(data.issued_at.timestamp())
    credential["exp"] = int(data.valid_until.astimezone(UTC).replace(microsecond=0).timestamp())
    credential["jti"] = credential["id"]
    return credential


@dataclass(frozen=True)
class CheckedCredential:
    """A payload that has the shape of our credentials."""

    id: str
    issuer_id: str
    valid_from: datetime
    valid_until: datetime
    payload: dict[str, Any]
    #: The JWT ``nbf`` if the token carries one (ours never do); not valid before it either.
    not_before: datetime | None = None

    @property
    def uuid(self) -> str:
        """The credential id without its ``urn:uuid:`` prefix."""
        return self.id.removeprefix("urn:uuid:")


def issuer_id_of(payload: dict[str, Any]) -> str | None:
    """``issuer`` or ``issuer.id`` of an unverified payload, or ``None``."""
    issuer = payload.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def check_claims(payload: dict[str, Any]) -> CheckedCredential:
    """Judge a signature-verified payload against our credential shape.

    Enforces VC-JOSE-COSE (no ``vc`` claim, ``iss`` = ``issuer.id``, ``jti`` = ``id``),
    VC 2.0 (first context, types, timestamps) and our profile (pinned contexts). An ``nbf``
    (never in our own tokens) must be a NumericDate and is returned as ``not_before``, so a
    verifier judges it like ``validFrom``. Raises :class:`InvalidClaims`.
    """
    if "vc" in payload or "vp" in payload:
        raise InvalidClaims("a 'vc' or 'vp' claim is not allowed in a VC 2.0 JWT")
    issuer_id = issuer_id_of(payload)
    if issuer_id is None:
        raise InvalidClaims("the credential has no issuer id")
    if payload.get("iss") != issuer_id:
        raise InvalidClaims("iss does not equal issuer.id")
    if payload.get("@context") != [VC_V2_CONTEXT, OB_CONTEXT, context_url(issuer_id)]:
        raise InvalidClaims("unexpected @context")
    types = payload.get("type")
    if (
        not isinstance(types, list)
        or not all(isinstance(t, str) for t in types)
        or not set(CREDENTIAL_TYPES) <= set(types)
    ):
        raise InvalidClaims("type must include VerifiableCredential and OpenBadgeCredential")
    cred_id = payload.get("id")
    if not isinstance(cred_id, str) or not cred_id.startswith("urn:uuid:"):
        raise InvalidClaims("id must be a urn:uuid")
    if payload.get("jti") != cred_id:
        raise InvalidClaims("jti does not equal id")
    valid_from = parse_timestamp(payload.get("validFrom"), "validFrom")
    valid_until = parse_timestamp(payload.get("validUntil"), "validUntil")
    if valid_until < valid_from:
        raise InvalidClaims("validUntil is before validFrom")
    exp = payload.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp != int(valid_until.timestamp()):
        raise InvalidClaims("exp does not equal validUntil")
    iat = payload.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidClaims("iat must be a NumericDate")
    nbf = payload.get("nbf")
    if nbf is not None and (not isinstance(nbf, int) or isinstance(nbf, bool)):
        raise InvalidClaims("nbf must be a NumericDate")
    not_before = _numeric_date(nbf, "nbf") if nbf is not None else None
    if not isinstance(payload.get("credentialSubject"), dict):
        raise InvalidClaims("credentialSubject must be an object")
    return CheckedCredential(
        id=cred_id,
        issuer_id=issuer_id,
        valid_from=valid_from,
        valid_until=valid_until,
        payload=payload,
        not_before=not_before,
    )


def _numeric_date(value: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidClaims(f"{name} is out of range") from exc


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def summary(checked: CheckedCredential) -> dict[str, Any]:
    """The plain facts a patient or employer needs, flattened from the credential."""
    subject = checked.payload["credentialSubject"]
    results = _get(subject, "trainingResults")
    if not isinstance(results, dict):
        results = {}
    return {
        "id": checked.uuid,
        "name": _get(subject, "name"),
        "profession": _get(subject, "profession"),
        "profession_name": _get(subject, "professionName"),
        "license": {
            "jurisdiction": _get(subject, "license", "jurisdiction"),
            "number": _get(subject, "license", "number"),
            "status_at_check": _get(subject, "license", "statusAtCheck"),
            "expires_on": _get(subject, "license", "expiresOn"),
            "checked_on": _get(subject, "license", "checkedOn"),
            "checked_source": _get(subject, "license", "checkedSource"),
        },
        "program": {
            "id": _get(subject, "achievement", "humanCode"),
            "name": _get(subject, "achievement", "name"),
            "description": _get(subject, "achievement", "description"),
            "accreditation_body": _get(subject, "achievement", "accreditation", "body"),
            # ``identifier`` since the accreditation reference stopped posing as a URL.
            "accreditation_id": _get(subject, "achievement", "accreditation", "identifier")
            or _get(subject, "achievement", "accreditation", "id"),
            "cme_credits": _get(subject, "achievement", "creditsAvailable"),
        },
        "results": {
            "didactic_hours": results.get("didacticHours"),
            "didactic_modules": results.get("didacticModules"),
            "hands_on_hours": results.get("handsOnHours"),
            "supervised_injections": results.get("supervisedInjections"),
            "live_models": results.get("liveModels"),
            "written_exam_passed_on": _get(results, "writtenExam", "date"),
            "practical_exam_passed_on": _get(results, "practicalExam", "date"),
            "practical_examiner": _get(results, "practicalExam", "examiner"),
        },
        "issuer_id": checked.issuer_id,
        "valid_from": timestamp(checked.valid_from),
        "valid_until": timestamp(checked.valid_until),
    }
