"""Bitstring Status Lists: signed, served, and re-signed when a credential's status changes.

Indexes for new credentials are given by :mod:`issuer.credentials.status_slots`.

A list's bits are stored in one place only: the ``encodedList`` of its signed token
(``StatusList.token``). A status change flips the bits it changes, starting from that
token, under the list's row lock (PostgreSQL; SQLite's write lock is already held) and in
the transaction of the change (:func:`apply_status_changes`), so its cost does not grow
with the credential table, and a list none of whose bits change is neither locked nor
re-signed. Before flipping it checks that each bit holds what the credential's previous
status says it should; when it does not, or the token cannot be read, the list is
re-derived from ``Credential.status`` (:func:`sign_list`). Key changes
(:func:`resign_lists`) and the daily re-signing of a served list (:func:`resign_list`)
always re-derive, so a list that had drifted is put right within a day.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.errors import ConfigurationError, NotFound
from issuer.store.models import Credential, StatusEntry, StatusList
from vc import credential as vcc
from vc import jose
from vc.errors import CredentialError
from vc.status_list import (
    MIN_ENTRIES,
    PURPOSES,
    BitstringStatusList,
    list_credential,
    max_list_token_chars,
    read_list_credential,
)

_logger = logging.getLogger(__name__)

#: A status list is signed for this long; it is re-signed when a status changes, or when
#: served and older than STATUS_LIST_RESIGN_AFTER.
STATUS_LIST_VALIDITY = timedelta(days=7)


STATUS_LIST_RESIGN_AFTER = timedelta(days=1)

#: The credential status that sets a credential's bit in a list of each purpose.
FLAGS = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}


def require_signer(ctx: IssuerContext) -> None:
    """Raise :class:`ConfigurationError` when no key is active (every key retired)."""
    if not ctx.signer.kid:
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


def new_list(session: Session, ctx: IssuerContext, purpose: str) -> StatusList:
    """A new, empty, signed list of ``purpose`` (flushed, not committed)."""
    require_signer(ctx)
    now = ctx.now()
    status_list = StatusList(
        id=secrets.token_hex(8),
        purpose=purpose,
        size=MIN_ENTRIES,
        token="",
        etag="",
        signed_at=now,
        created_at=now,
        allocated=0,
        slot_key=secrets.token_hex(32),
    )
    session.add(status_list)
    session.flush()
    _store_signed(ctx, status_list, BitstringStatusList(status_list.size))  # no entries yet
    return status_list


def derived_bits(session: Session, status_list: StatusList) -> BitstringStatusList:
    """The list's bits as credential statuses say they are: its entries joined to the
    credentials in the status its purpose flags (reads that status's index, not the table)."""
    indexes = session.scalars(
        select(StatusEntry.index)
        .join(Credential, Credential.id == StatusEntry.credential_id)
        .where(StatusEntry.list_id == status_list.id, Credential.status == FLAGS[status_list.purpose])
    ).all()
    return BitstringStatusList.with_set(indexes, status_list.size)


def signed_bits(ctx: IssuerContext, status_list: StatusList) -> BitstringStatusList | None:
    """The bits of the list's stored signed token, or ``None`` when the token cannot give
    them (empty, malformed, another URL, purpose or size): then derive them instead.

    The signature is not checked: the token is our own row, read under its lock.
    """
    try:
        _, payload = jose.split(status_list.token, max_chars=max_list_token_chars(status_list.size))
        parsed = read_list_credential(payload, list_url=ctx.list_url(status_list.purpose, status_list.id))
    except CredentialError:
        return None
    if parsed.purposes != (status_list.purpose,) or parsed.bits.size != status_list.size:
        return None
    return parsed.bits


def sign_list(session: Session, ctx: IssuerContext, status_list: StatusList) -> None:
    """Re-derive the list's bits from credential statuses and store the newly signed list.

    The caller holds the list's lock. For key changes and the daily re-signing; a status
    change flips bits instead (:func:`apply_status_changes`). Logs a warning when the
    signed bits were not the derived ones: the list had drifted and is now put right.
    """
    require_signer(ctx)
    bits = derived_bits(session, status_list)
    before = signed_bits(ctx, status_list)
    if before is not None and before.encode() != bits.encode():
        _logger.warning("status list %s (%s) differed from credential statuses: re-derived",
                        status_list.id, status_list.purpose)
    _store_signed(ctx, status_list, bits)


def _store_signed(ctx: IssuerContext, status_list: StatusList, bits: BitstringStatusList) -> None:
    """Sign ``bits`` as the list's credential now and store the token, its ETag and time."""
    now = ctx.now().replace(microsecond=0)
    url = ctx.list_url(status_list.purpose, status_list.id)
    payload = list_credential(
        issuer=ctx.issuer_profile(),
        list_url=url,
        purpose=status_list.purpose,
        bits=bits,
        valid_from=vcc.timestamp(now),
        valid_until=vcc.timestamp(now + STATUS_LIST_VALIDITY),
        ttl_ms=ctx.config.status_list_ttl * 1000,
        # The issuer profile's ``Profile`` is an Open Badges term and ``jti`` one of ours.
        context=[vcc.VC_V2_CONTEXT, vcc.OB_CONTEXT, vcc.context_url(ctx.config.issuer_url)],
    )
    payload.update(
        iss=ctx.config.issuer_url,
        iat=int(now.timestamp()),
        exp=int((now + STATUS_LIST_VALIDITY).timestamp()),
        jti=url,
    )
    token = jose.sign(payload, ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
    status_list.token = token
    status_list.etag = '"' + hashlib.sha256(token.encode("ascii")).hexdigest()[:32] + '"'
    status_list.signed_at = now


def _locked(session: Session, list_ids: Iterable[str]) -> list[StatusList]:
    """The lists, locked in id order (no deadlock between changes of several lists) and
    read afresh after the lock: another transaction may have re-signed them meanwhile."""
    return list(
        session.scalars(
            select(StatusList).where(StatusList.id.in_(sorted(set(list_ids)))).order_by(StatusList.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    )


def status_flips(changes: Iterable[tuple[Credential, str | None]]) -> dict[str, list[tuple[int, bool, bool]]]:
    """The bits that ``changes`` change, by list id: ``(index, was set, now set)``.

    Each change is a credential (its new status already set) and its status before the
    change, ``None`` for a credential issued in the same transaction (no bit set yet).
    """
    flips: dict[str, list[tuple[int, bool, bool]]] = {}
    for credential, previous in changes:
        for entry in credential.entries:
            flag = FLAGS[entry.purpose]
            was, now = previous == flag, credential.status == flag
            if was != now:
                flips.setdefault(entry.list_id, []).append((entry.index, was, now))
    return flips


def apply_status_changes(
    session: Session, ctx: IssuerContext, changes: Sequence[tuple[Credential, str | None]]
) -> list[str]:
    """Flip the bits that the status ``changes`` change, in the lists that hold them, and
    re-sign those lists only (not committed); returns their ids.

    Each change is ``(credential, status before)`` as for :func:`status_flips`; the
    credentials are locked by the caller, and read under that lock. Each list is locked
    (in id order) and read afresh, and its bits are taken from its signed token; a list
    whose token cannot give them, or one of whose bits does not hold what the status
    before says, is re-derived instead (:func:`derived_bits`), with a warning logged.
    Raises :class:`ConfigurationError` when no key is active.
    """
    flips = status_flips(changes)
    if not flips:
        return []
    require_signer(ctx)
    session.flush()  # the new statuses, before another list is re-derived from them
    for status_list in _locked(session, flips):
        bits = signed_bits(ctx, status_list)
        wanted = flips[status_list.id]
        if bits is None or any(bits.get(index) != was for index, was, _ in wanted):
            _logger.warning("status list %s (%s): its signed bits are unreadable or not as the statuses "
                            "before this change say; re-derived", status_list.id, status_list.purpose)
            _store_signed(ctx, status_list, derived_bits(session, status_list))
            continue
        bits.apply((index, now) for index, _, now in wanted)
        _store_signed(ctx, status_list, bits)
    return sorted(flips)


def status_list(session: Session, ctx: IssuerContext, purpose: str, list_id: str) -> StatusList:
    """The stored signed list (read only), or :class:`NotFound`."""
    if purpose not in PURPOSES or len(list_id) > 32:
        raise NotFound("no such status list")
    found = session.get(StatusList, list_id)
    if found is None or found.purpose != purpose:
        raise NotFound("no such status list")
    return found


def signature_getting_old(ctx: IssuerContext, found: StatusList) -> bool:
    """Whether a served list should be re-signed first (its validity runs out in days)."""
    return ctx.now() - found.signed_at.astimezone(UTC) > STATUS_LIST_RESIGN_AFTER


def resign_list(session: Session, ctx: IssuerContext, list_id: str) -> StatusList:
    """Re-sign one list under its lock (unless a concurrent request just did) and commit."""
    found = _locked(session, [list_id])
    if not found:
        raise NotFound("no such status list")
    locked = found[0]
    if signature_getting_old(ctx, locked):
        sign_list(session, ctx, locked)
        session.commit()
    return locked


def resign_lists(session: Session, ctx: IssuerContext) -> int:
    """Re-sign every status list not signed by the active key; returns how many were."""
    count = 0
    every_list = (select(StatusList).order_by(StatusList.id).with_for_update(key_share=True)
                  .execution_options(populate_existing=True))
    for status_list in session.scalars(every_list):
        try:
            header, _ = jose.split(status_list.token, max_chars=max_list_token_chars(status_list.size))
        except CredentialError:
            header = {}  # unreadable: signed afresh
        if header.get("kid") != ctx.signer.kid:
            sign_list(session, ctx, status_list)
            count += 1
    return count


@dataclass(frozen=True)
class ListCheck:
    """One list's signed bits compared with the credential statuses: the indexes where they
    differ, or ``unreadable`` (a stored token that gives no bits); ``repaired`` when it was
    re-signed from the statuses."""

    list_id: str
    purpose: str
    differing: tuple[int, ...] = ()
    unreadable: bool = False
    repaired: bool = False

    @property
    def ok(self) -> bool:
        """Whether the published list says what the statuses say."""
        return not self.differing and not self.unreadable


def check_lists(session: Session, ctx: IssuerContext, *, repair: bool = False, actor: str = "cli"
                ) -> list[ListCheck]:
    """Compare every list's signed bits with the credential statuses, as the daily
    re-signing would, without waiting for it: a list differs only when a status was written
    around the issuer (directly in the database, or a restored backup).

    Without ``repair`` nothing is locked or written. With it, every list is locked (in id
    order, read afresh) and each one that differs is re-signed from the statuses with an
    audit entry (``status_list_repair``), all in one transaction; raises
    :class:`ConfigurationError` when no key is active.
    """
    query = select(StatusList).order_by(StatusList.id)
    if repair:
        require_signer(ctx)
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    checks = []
    for status_list in session.scalars(query).all():
        derived, signed = derived_bits(session, status_list), signed_bits(ctx, status_list)
        check = (ListCheck(status_list.id, status_list.purpose, unreadable=True) if signed is None
                 else ListCheck(status_list.id, status_list.purpose,
                                tuple(sorted(set(derived.set_indexes()) ^ set(signed.set_indexes())))))
        if repair and not check.ok:
            _store_signed(ctx, status_list, derived)
            audit.record(session, at=ctx.now(), actor=actor, action="status_list_repair",
                         target=f"status_list:{status_list.id}",
                         data={"purpose": status_list.purpose, "unreadable": check.unreadable,
                               "differing": len(check.differing), "indexes": list(check.differing[:100])})
            check = replace(check, repaired=True)
        checks.append(check)
    if repair:
        session.commit()
    else:
        session.rollback()
    return checks
