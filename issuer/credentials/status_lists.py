"""Bitstring Status Lists: signed, served and re-signed whenever a credential's status changes.

Indexes for new credentials are given by :mod:`issuer.credentials.status_slots`.

A list's bits are never stored: :func:`sign_list` derives them from ``Credential.status``
under the list's row lock, in the transaction of the change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import ConfigurationError, NotFound
from issuer.store.models import Credential, StatusEntry, StatusList
from vc import credential as vcc
from vc import jose
from vc.status_list import (
    MIN_ENTRIES,
    PURPOSES,
    BitstringStatusList,
    list_credential,
    max_list_token_chars,
)

#: A status list is signed for this long; it is re-signed when a status changes, or when
#: served and older than STATUS_LIST_RESIGN_AFTER.
STATUS_LIST_VALIDITY = timedelta(days=7)


STATUS_LIST_RESIGN_AFTER = timedelta(days=1)



def require_signer(ctx: IssuerContext) -> None:
    """Raise :class:`ConfigurationError` when no key is active (every key retired)."""
    if not ctx.signer.kid:
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


def new_list(session: Session, ctx: IssuerContext, purpose: str) -> StatusList:
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
    sign_list(session, ctx, status_list)
    return status_list


def sign_list(session: Session, ctx: IssuerContext, status_list: StatusList) -> None:
    """Rebuild the list's bits from credential statuses and store the newly signed list."""
    require_signer(ctx)
    flag = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}[status_list.purpose]
    indexes = session.scalars(
        select(StatusEntry.index)
        .join(Credential, Credential.id == StatusEntry.credential_id)
        .where(StatusEntry.list_id == status_list.id, Credential.status == flag)
    ).all()
    now = ctx.now().replace(microsecond=0)
    url = ctx.list_url(status_list.purpose, status_list.id)
    payload = list_credential(
        issuer=ctx.issuer_profile(),
        list_url=url,
        purpose=status_list.purpose,
        bits=BitstringStatusList.with_set(indexes, status_list.size),
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


def lock_lists(session: Session, credential: Credential, purposes: tuple[str, ...]) -> list[StatusList]:
    ids = [e.list_id for e in credential.entries if e.purpose in purposes]
    return list(
        session.scalars(
            select(StatusList).where(StatusList.id.in_(ids)).order_by(StatusList.id)
            .with_for_update(key_share=True)
        )
    )


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
    locked = session.scalars(
        select(StatusList).where(StatusList.id == list_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    if signature_getting_old(ctx, locked):
        sign_list(session, ctx, locked)
        session.commit()
    return locked


def resign_lists(session: Session, ctx: IssuerContext) -> int:
    """Re-sign every status list not signed by the active key; returns how many were."""
    count = 0
    every_list = select(StatusList).order_by(StatusList.id).with_for_update(key_share=True)
    for status_list in session.scalars(every_list):
        header, _ = jose.split(status_list.token, max_chars=max_list_token_chars(status_list.size))
        if header.get("kid") != ctx.signer.kid:
            sign_list(session, ctx, status_list)
            count += 1
    return count


def resign_lists_of(session: Session, ctx: IssuerContext, credential_ids: Sequence[str]) -> None:
    ids = set(
        session.scalars(select(StatusEntry.list_id).where(StatusEntry.credential_id.in_(list(credential_ids))))
    )
    for status_list in session.scalars(
        select(StatusList).where(StatusList.id.in_(ids)).order_by(StatusList.id)
        .with_for_update(key_share=True)
    ):
        sign_list(session, ctx, status_list)
