"""The verdict: one function of (input, trust registry, keys and lists, clock), no Flask.

The API and the human page both call :class:`Verifier`, so they always agree. Checks run in
this order and each is reported with a plain-language ``detail``:

* a compact JWT: ``format``, ``issuer``, ``signature``, ``claims``, ``validity``,
  ``revocation``, ``suspension``;
* a verification link: ``link``, ``issuer``, ``fetch``, then the JWT's checks from
  ``format`` on (its issuer must be the link's, its ``id`` the link's).

A failed ``link``, ``format``, ``issuer``, ``fetch``, ``signature`` or ``claims`` check ends
the run, and ``credential`` is ``None``: authenticity was refuted or could not be established
(an issuer whose keys cannot be fetched gives ``status_unknown`` with no credential).
Otherwise every later check runs and the verdict is the first that applies in
:data:`PRECEDENCE`. The status lists those checks read are asked for at once
(:meth:`Sources.status_lists`), so a slow issuer costs one fetch deadline, not one per list.

Supersession: a credential may carry a third status entry, purpose ``refresh`` (Bitstring
Status List: "an updated credential is available"). Its bit set means the issuer replaced
it (renewal, correction, re-issue): the verdict is ``superseded``, and ``superseded_by``
is the holder page of the current credential, asked from the *trusted* issuer at
``<issuer id>/status/credentials/<uuid>`` only when the bit is set (never a URL the token
names). Credentials without a ``refresh`` entry (issued before it existed) get no
``supersession`` check. A credential within :data:`EXPIRING_SOON` of its ``validUntil``
gets an ``expiring_soon`` note; notes never change the verdict.

Freshness: the verdict's ``status_as_of`` is when the *oldest* status list it used was
fetched or revalidated from the issuer (``None`` when no list was consulted), and each
status check's detail names its list's time and refresh interval ("as of 21:38 UTC
(refreshed at least every 5 minutes)"). ``checked_at`` is only when the request was judged:
a cached list may be older, and pages must not present it as the status time.

Details never quote text from a credential whose authenticity is not established, so a
forged token cannot put words on the verifier's page.

Input rules (documented here because the API and the page share them): whitespace anywhere
in the text is removed (a compact JWT or a link never holds any; a paste may wrap). Text
holding ``://`` is read as a verification link ``<any base>/v/<uuid>?issuer=<issuer URL>``
or as a credential's holder page ``<issuer id>/credentials/<uuid>`` (judged as that
credential, fetched only from a trusted issuer), any other text as a compact JWT. Text
that is neither (``hello world``, another web address, a link without ``issuer=`` or a
valid id, three parts that are not base64url JSON) is *judged* ``unreadable`` with a
``link`` or ``format`` check saying why: never green, and never worded as forgery, which
``not_authentic`` is for (a credential whose signature, key or claims fail). It is not
rejected with 400: the request was well formed, its content is what failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from jwt.api_jwk import PyJWK

from vc import jose
from vc.credential import TYP, CheckedCredential, check_claims, issuer_id_of, summary, timestamp
from vc.errors import CredentialError, StatusListError
from vc.protocol import (
    PublicStatus,
    category_words,
    holder_path,
    parse_holder_url,
    parse_verify_link,
)
from vc.status_list import StatusPointer, read_entries
from verifier.registry import TrustedIssuer, TrustRegistry, canonical_uuid
from verifier.resolver import (
    CredentialNotFound,
    KeysUnavailable,
    ResolverError,
    StatusListSnapshot,
)
from verifier.signatures import SignatureMemo

VALID = "valid"
#: The input is neither a credential nor a verification link (never worded as forgery).
UNREADABLE = "unreadable"
NOT_AUTHENTIC = "not_authentic"
ISSUER_NOT_RECOGNISED = "issuer_not_recognised"
REVOKED = "revoked"
SUSPENDED = "suspended"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
STATUS_UNKNOWN = "status_unknown"
SUPERSEDED = "superseded"

#: When several outcomes apply, the first in this order is the verdict.
PRECEDENCE = (
    UNREADABLE,
    NOT_AUTHENTIC,
    ISSUER_NOT_RECOGNISED,
    REVOKED,
    SUSPENDED,
    SUPERSEDED,
    EXPIRED,
    NOT_YET_VALID,
    STATUS_UNKNOWN,
    VALID,
)
#: The status purposes every credential of ours must carry, and the verdict a set bit means.
STATUS_PURPOSES = {"revocation": REVOKED, "suspension": SUSPENDED}
#: The optional status purpose whose set bit means "superseded by a newer credential".
REFRESH = "refresh"
#: A valid credential this close to its ``validUntil`` gets an ``expiring_soon`` note.
EXPIRING_SOON = timedelta(days=60)
_SIGNATURE_FAILURES = {
    "unsupported_algorithm": "The credential uses a signing algorithm that is not accepted.",
    "wrong_typ": "The credential's header does not declare it a verifiable credential (vc+jwt).",
    "forbidden_header": "The credential's header carries parameters refused for safety.",
    "unknown_kid": "The credential was not signed with any key the issuer publishes.",
    "bad_signature": "The signature does not match the content: it was altered or forged.",
}


@dataclass(frozen=True)
class Check:
    """One reported check: a stable ``id``, whether it passed, and why in plain words."""

    id: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The API form ``{"id", "ok", "detail"}``."""
        return {"id": self.id, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Note:
    """Something worth knowing that does not change the verdict (``expiring_soon``)."""

    id: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The API form ``{"id", "detail"}``."""
        return {"id": self.id, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one verification."""

    status: str
    checks: tuple[Check, ...]
    credential: dict[str, Any] | None
    checked_at: datetime
    notes: tuple[Note, ...] = ()
    #: Holder page of the current credential when this one is superseded (else None).
    superseded_by: str | None = None
    #: What the checks were made against (``kid``, ``alg``, ``issuer_id``, ``status_entries``
    #: with each list's ``as_of``); empty unless the credential was authentic. Not part of
    #: the API body; the employer view and the signed verification receipt show it.
    evidence: dict[str, Any] = field(default_factory=dict)
    #: When the oldest status list consulted was last fetched or revalidated from the
    #: issuer; ``None`` when no list was consulted. This, not ``checked_at``, is how fresh
    #: the revocation and suspension status is.
    status_as_of: datetime | None = None
    #: The longest time any list consulted is used before it is asked for again (its
    #: ``ttl``/``max-age``); ``None`` when no list was consulted.
    status_refresh: timedelta | None = None
    #: The issuer's public reason category for a revocation or suspension, in the fixed
    #: words of :data:`vc.protocol.CATEGORIES` ("issued in error"); else ``None``. The
    #: check detail carries it in the API; pages show it in the verdict itself.
    public_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API body: ``status``, ``checks``, ``credential`` (or null), ``checked_at``
        (when the request was judged), ``status_as_of`` (see the attribute; or null),
        ``notes`` (possibly empty) and ``superseded_by`` (a URL or null)."""
        return {
            "status": self.status,
            "checks": [check.to_json() for check in self.checks],
            "credential": self.credential,
            "checked_at": timestamp(self.checked_at),
            "status_as_of": timestamp(self.status_as_of) if self.status_as_of else None,
            "notes": [note.to_json() for note in self.notes],
            "superseded_by": self.superseded_by,
        }


class Sources(Protocol):
    """Where keys, status lists and linked credentials come from (:class:`Resolver`)."""

    def key_for(self, issuer: TrustedIssuer, kid: str) -> PyJWK | None:
        """The issuer's key with ``kid``; raises :class:`KeysUnavailable`."""
        ...

    def status_lists(
        self, issuer: TrustedIssuer, urls: Collection[str]
    ) -> Mapping[str, StatusListSnapshot | ResolverError]:
        """Each URL's verified, fresh status list, or the error saying why there is none."""
        ...

    def credential_token(self, issuer: TrustedIssuer, credential_uuid: str) -> str:
        """The compact JWT the issuer serves for a credential; raises :class:`ResolverError`."""
        ...

    def credential_status(self, issuer: TrustedIssuer, credential_uuid: str) -> PublicStatus:
        """The issuer's public lifecycle record of a credential; raises :class:`ResolverError`."""
        ...


@dataclass(frozen=True)
class Policy:
    """What the configuration decides: accepted algorithms and clock-skew leeway."""

    algorithms: frozenset[str]
    leeway: timedelta = timedelta(seconds=60)


@dataclass
class _Run:
    """Checks gathered during one verification, all judged at one instant ``now``."""

    now: datetime
    checks: list[Check] = field(default_factory=list)
    outcomes: set[str] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)
    superseded_by: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    consulted: list[StatusListSnapshot] = field(default_factory=list)
    public_reason: str | None = None

    def passed(self, check_id: str, detail: str) -> None:
        self.checks.append(Check(check_id, True, detail))

    def failed(self, check_id: str, detail: str, outcome: str) -> None:
        self.checks.append(Check(check_id, False, detail))
        self.outcomes.add(outcome)

    def verdict(self, credential: dict[str, Any] | None = None) -> Verdict:
        status = next((s for s in PRECEDENCE if s in self.outcomes), VALID)
        evidence = dict(self.evidence)
        if status == NOT_AUTHENTIC or credential is None:
            credential, evidence = None, {}
        notes = tuple(self.notes) if credential is not None else ()
        superseded_by = self.superseded_by if status == SUPERSEDED else None
        as_of = [s.as_of for s in self.consulted if s.as_of is not None]
        every = [s.refresh_every for s in self.consulted if s.refresh_every is not None]
        return Verdict(
            status,
            tuple(self.checks),
            credential,
            self.now,
            notes,
            superseded_by,
            evidence,
            status_as_of=min(as_of) if as_of else None,
            status_refresh=max(every) if every else None,
            public_reason=self.public_reason if status in (REVOKED, SUSPENDED) else None,
        )


def _without_whitespace(text: str) -> str:
    return "".join(text.split())


_COMPACT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def looks_verifiable(text: str) -> bool:
    """Whether ``text`` has the shape of something this verifier judges: a verification
    link, a credential's holder page or a compact JWT (used to pick one QR code among
    several in an image; says nothing of authenticity)."""
    compact = _without_whitespace(text)
    if "://" in compact:
        return parse_verify_link(compact) is not None or parse_holder_url(compact) is not None
    return _COMPACT_SHAPE.fullmatch(compact) is not None


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration_words(span: timedelta) -> str:
    """``timedelta(minutes=5)`` as ``5 minutes`` (whole hours, minutes or seconds)."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def freshness_words(as_of: datetime, refresh: timedelta | None, now: datetime) -> str:
    """How fresh a status is, for people: ``as of 21:38 UTC (refreshed at least every 5
    minutes)``; the date is added when it is not ``now``'s."""
    when = as_of.strftime("%H:%M UTC") if as_of.date() == now.date() else _utc(as_of)
    if refresh is None or refresh <= timedelta(0):
        return f"as of {when} (fetched from the issuer for this check)"
    every = duration_words(refresh).removeprefix("1 ")  # "every minute", not "every 1 minute"
    return f"as of {when} (refreshed at least every {every})"


class Verifier:
    """Judges credentials, QR texts and verification links against the trust registry."""

    def __init__(
        self,
        registry: TrustRegistry,
        sources: Sources,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._registry = registry
        self._sources = sources
        self._policy = policy
        self._clock = clock
        self._signatures = SignatureMemo(TYP, policy.algorithms)

    def verify_credential(self, token: str) -> Verdict:
        """Verdict for a compact JWT (the API's ``credential`` field).

        Whitespace anywhere in it (spaces, line breaks from a wrapped paste) is removed
        first: it is never part of a compact JWT.
        """
        run = _Run(self._clock())
        return self._judge_token(run, _without_whitespace(token), expected=None)

    def verify_qr(self, text: str) -> Verdict:
        """Verdict for text decoded from a QR code or pasted: a verification link, the
        holder's page of a credential (``<issuer id>/credentials/<id>``, judged as that
        credential) or a compact JWT; whitespace anywhere is removed first. Other web
        addresses are ``unreadable``."""
        text = _without_whitespace(text)
        if "://" not in text:
            return self.verify_credential(text)
        link = parse_verify_link(text)
        if link is not None:
            return self.verify_link(*link)
        holder = parse_holder_url(text)
        if holder is not None:
            issuer_url, credential_id = holder
            return self.verify_link(credential_id, issuer_url, kind="holder's page")
        run = _Run(self._clock())
        run.failed(
            "link",
            "The text is a web address, but not a certificate's verification link or page.",
            UNREADABLE,
        )
        return run.verdict()

    def verify_link(
        self, credential_id: str, issuer_url: str | None, *, kind: str = "verification link"
    ) -> Verdict:
        """Verdict for a verification link's credential id and ``issuer`` parameter (or a
        holder page's id and issuer URL: ``kind`` names which, for the ``link`` check).

        A link without a valid id or without an issuer is ``unreadable``. Nothing is fetched
        unless ``issuer_url`` is exactly a trusted issuer's id; then only
        ``<issuer id>/credentials/<id>/jwt``, whose credential ``id`` must be this one.
        """
        run = _Run(self._clock())
        uuid = canonical_uuid(credential_id)
        if uuid is None:
            run.failed("link", "The link does not name a valid credential id.", UNREADABLE)
            return run.verdict()
        if not issuer_url:
            run.failed("link", "The link does not say which issuer to ask.", UNREADABLE)
            return run.verdict()
        run.passed("link", f"The text is the {kind} of credential {uuid}.")
        issuer = self._registry.get(issuer_url)
        if issuer is None:
            run.failed(
                "issuer",
                "The link names an issuer that is not in this verifier's list of trusted "
                "issuers, so nothing was fetched.",
                ISSUER_NOT_RECOGNISED,
            )
            return run.verdict()
        run.passed("issuer", f"The link names {issuer.name}, an issuer this verifier trusts.")
        try:
            token = self._sources.credential_token(issuer, uuid)
        except CredentialNotFound:
            run.failed("fetch", f"{issuer.name} has no credential with this id.", NOT_AUTHENTIC)
            return run.verdict()
        except ResolverError:
            run.failed(
                "fetch",
                f"The credential could not be fetched from {issuer.name} right now.",
                STATUS_UNKNOWN,
            )
            return run.verdict()
        run.passed("fetch", f"The credential was fetched from {issuer.name}.")
        return self._judge_token(run, token, expected=(issuer, uuid))

    # -- the token path -----------------------------------------------------------------------

    def _judge_token(
        self, run: _Run, token: str, expected: tuple[TrustedIssuer, str] | None
    ) -> Verdict:
        try:
            header, unverified = jose.split(token)
        except CredentialError:
            run.failed(
                "format",
                "The text is not a credential in the expected format (a signed compact JWT) "
                "nor a verification link.",
                UNREADABLE,
            )
            return run.verdict()
        run.passed("format", "The text is a signed credential in the expected format.")

        if expected is None:
            claimed = issuer_id_of(unverified) or unverified.get("iss")
            found = self._registry.get(claimed)
            if found is None:
                run.failed(
                    "issuer",
                    "The issuer named in this credential is not in this verifier's list of "
                    "trusted issuers.",
                    ISSUER_NOT_RECOGNISED,
                )
                return run.verdict()
            issuer = found
            run.passed(
                "issuer",
                f"The credential names {issuer.name}, an issuer this verifier trusts.",
            )
        else:
            issuer = expected[0]

        if not self._check_signature(run, token, issuer):
            return run.verdict()
        checked = self._check_claims(run, unverified, issuer, expected)
        if checked is None:
            return run.verdict()
        credential = {**summary(checked), "issuer_name": issuer.name}
        run.evidence.update(kid=header.get("kid"), alg=header.get("alg"), issuer_id=issuer.id)
        self._check_validity(run, checked)
        self._check_status(run, unverified, issuer, checked.uuid)
        return run.verdict(credential)

    def _check_signature(self, run: _Run, token: str, issuer: TrustedIssuer) -> bool:
        def lookup(kid: str) -> PyJWK | None:
            return self._sources.key_for(issuer, kid)

        try:
            self._signatures.verify(token, lookup)
        except KeysUnavailable:
            run.failed(
                "signature",
                f"The public keys of {issuer.name} could not be fetched right now, so the "
                "signature could not be checked.",
                STATUS_UNKNOWN,
            )
            return False
        except CredentialError as exc:
            detail = _SIGNATURE_FAILURES.get(
                exc.code, "The signature could not be checked because the credential is malformed."
            )
            run.failed("signature", f"{detail} ({exc.code})", NOT_AUTHENTIC)
            return False
        run.passed("signature", f"The signature is valid, made with a key {issuer.name} publishes.")
        return True

    def _check_claims(
        self,
        run: _Run,
        payload: dict[str, Any],
        issuer: TrustedIssuer,
        expected: tuple[TrustedIssuer, str] | None,
    ) -> CheckedCredential | None:
        try:
            checked = check_claims(payload)
        except CredentialError as exc:
            run.failed(
                "claims",
                f"The content is not a credential of the shape this system issues: {exc.detail}.",
                NOT_AUTHENTIC,
            )
            return None
        if checked.issuer_id != issuer.id:
            run.failed("claims", f"The credential was not issued by {issuer.name}.", NOT_AUTHENTIC)
            return None
        if expected is not None and checked.uuid.lower() != expected[1]:
            run.failed(
                "claims",
                "The credential returned by the issuer is not the one the QR code points to.",
                NOT_AUTHENTIC,
            )
            return None
        run.passed(
            "claims", f"The content is a certification credential as {issuer.name} issues them."
        )
        return checked

    def _check_validity(self, run: _Run, checked: CheckedCredential) -> None:
        leeway = self._policy.leeway
        # An ``nbf`` (never in our own tokens) holds like validFrom: the later of the two.
        start = max(checked.valid_from, checked.not_before or checked.valid_from)
        if run.now > checked.valid_until + leeway:
            run.failed(
                "validity", f"This certification expired on {_utc(checked.valid_until)}.", EXPIRED
            )
        elif run.now < start - leeway:
            run.failed(
                "validity", f"This certification is only valid from {_utc(start)}.", NOT_YET_VALID
            )
        else:
            run.passed(
                "validity",
                f"Within its validity period, {_utc(checked.valid_from)} to "
                f"{_utc(checked.valid_until)}.",
            )
            left = checked.valid_until - run.now
            if left <= EXPIRING_SOON:
                days = max(left.days, 0)
                when = "today" if left < timedelta(days=1) else f"in {days} day{'s' if days != 1 else ''}"
                run.notes.append(
                    Note(
                        "expiring_soon",
                        f"This certification expires {when}, on {_utc(checked.valid_until)}; "
                        "the holder should renew it.",
                    )
                )

    def _check_status(
        self, run: _Run, payload: dict[str, Any], issuer: TrustedIssuer, credential_uuid: str
    ) -> None:
        try:
            entries = read_entries(payload)
        except StatusListError as exc:
            for purpose in STATUS_PURPOSES:
                detail = f"The status entries are unreadable: {exc.detail}."
                run.failed(purpose, detail, STATUS_UNKNOWN)
            return
        run.evidence["status_entries"] = [
            {"purpose": e.purpose, "list_url": e.list_url, "index": e.index} for e in entries
        ]
        lists = self._status_lists(issuer, entries)
        for purpose, outcome in STATUS_PURPOSES.items():
            mine = [entry for entry in entries if entry.purpose == purpose]
            if not mine:
                run.failed(
                    purpose,
                    f"The credential carries no {purpose} status, so it cannot be confirmed.",
                    STATUS_UNKNOWN,
                )
                continue
            results = [self._status_bit(issuer, entry, lists) for entry in mine]
            problem = next((r for r in results if isinstance(r, str)), None)
            word = "revoked" if purpose == "revocation" else "suspended"
            if any(r is True for r in results):
                run.public_reason = run.public_reason or self._public_reason(issuer, credential_uuid)
                why = f" Reason given by the issuer: {run.public_reason}." if run.public_reason else ""
                fresh = self._consulted(run, mine, lists)
                run.failed(
                    purpose,
                    f"{issuer.name} has {word} this credential, according to its {purpose} list "
                    f"{fresh}.{why}",
                    outcome,
                )
            elif problem is not None:
                run.failed(purpose, problem, STATUS_UNKNOWN)
            else:
                fresh = self._consulted(run, mine, lists)
                run.passed(purpose, f"{issuer.name}'s {purpose} list {fresh} shows it is not {word}.")
        self._check_supersession(run, entries, lists, issuer, credential_uuid)

    @staticmethod
    def _consulted(
        run: _Run,
        entries: list[StatusPointer],
        lists: Mapping[str, StatusListSnapshot | ResolverError],
    ) -> str:
        """Record in ``run`` the lists read for ``entries``; the oldest one's freshness in
        words (``as of 21:38 UTC (refreshed at least every 5 minutes)``)."""
        snapshots = [
            snap for e in entries if isinstance(snap := lists.get(e.list_url), StatusListSnapshot)
        ]
        run.consulted.extend(snapshots)
        as_of = {s.url: timestamp(s.as_of) for s in snapshots if s.as_of is not None}
        for item in run.evidence.get("status_entries", []):
            if item["list_url"] in as_of:
                item["as_of"] = as_of[item["list_url"]]
        dated = sorted((s.as_of, s.refresh_every) for s in snapshots if s.as_of is not None)
        if not dated:
            return "as read for this check"
        return freshness_words(dated[0][0], dated[0][1], run.now)

    def _status_lists(
        self, issuer: TrustedIssuer, entries: list[StatusPointer]
    ) -> Mapping[str, StatusListSnapshot | ResolverError]:
        """Every list the status checks will read, asked for at once (fetched concurrently).

        Only the purposes judged here and only URLs the issuer hosts are asked for.
        """
        purposes = (*STATUS_PURPOSES, REFRESH)
        urls = [
            entry.list_url
            for entry in entries
            if entry.purpose in purposes and self._registry.is_status_list_url(issuer, entry.list_url)
        ]
        return self._sources.status_lists(issuer, urls) if urls else {}

    def _check_supersession(
        self,
        run: _Run,
        entries: list[StatusPointer],
        lists: Mapping[str, StatusListSnapshot | ResolverError],
        issuer: TrustedIssuer,
        credential_uuid: str,
    ) -> None:
        mine = [entry for entry in entries if entry.purpose == REFRESH]
        if not mine:
            return  # issued before supersession was published: nothing to check
        results = [self._status_bit(issuer, entry, lists) for entry in mine]
        problem = next((r for r in results if isinstance(r, str)), None)
        fresh = self._consulted(run, mine, lists)
        if any(r is True for r in results):
            run.superseded_by = self._successor(issuer, credential_uuid)
            where = (
                " The current one is linked below."
                if run.superseded_by
                else " The current one could not be looked up right now."
            )
            run.failed(
                "supersession",
                f"{issuer.name} has replaced this credential with a newer one (renewal or "
                f"correction).{where}",
                SUPERSEDED,
            )
        elif problem is not None:
            run.failed("supersession", problem, STATUS_UNKNOWN)
        else:
            run.passed(
                "supersession",
                f"{issuer.name} has not replaced this credential, according to its refresh list "
                f"{fresh}.",
            )

    def _lifecycle(self, issuer: TrustedIssuer, credential_uuid: str) -> PublicStatus | None:
        try:
            return self._sources.credential_status(issuer, credential_uuid)
        except ResolverError:
            return None

    def _successor(self, issuer: TrustedIssuer, credential_uuid: str) -> str | None:
        """Holder page of the current credential, built from the trusted issuer's id."""
        record = self._lifecycle(issuer, credential_uuid)
        if record is None:
            return None
        current_id = canonical_uuid(record.current.id if record.current else record.superseded_by)
        if current_id is None or current_id == credential_uuid:
            return None
        return issuer.id + holder_path(current_id)

    def _public_reason(self, issuer: TrustedIssuer, credential_uuid: str) -> str | None:
        """The words of the issuer's public reason category, or ``None``."""
        record = self._lifecycle(issuer, credential_uuid)
        return category_words(record.category) if record else None

    def _status_bit(
        self,
        issuer: TrustedIssuer,
        entry: StatusPointer,
        lists: Mapping[str, StatusListSnapshot | ResolverError],
    ) -> bool | str:
        """Whether the entry's bit is set in ``lists``, or why it cannot be known (a sentence)."""
        what = f"The {entry.purpose} list"
        if not self._registry.is_status_list_url(issuer, entry.list_url):
            return f"{what} is not hosted by {issuer.name}, so it was not fetched."
        snapshot = lists.get(entry.list_url)
        if not isinstance(snapshot, StatusListSnapshot):
            return f"{what} could not be fetched and verified right now."
        if entry.purpose not in snapshot.parsed.purposes:
            return f"{what} named by the credential is for a different purpose."
        if entry.index >= snapshot.parsed.bits.size:
            return f"{what} is shorter than the credential's position in it."
        return snapshot.parsed.bits.get(entry.index)

