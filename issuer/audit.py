"""The append-only audit trail: who did what, when, to what, and why.

Every issue, revoke, suspend, reinstate, supersede, key event and token creation appends
one :class:`~issuer.store.models.AuditEntry` in the same transaction as the change itself, so
a change and its entry are committed together or not at all. Entries are numbered
``1, 2, 3, ...`` (``seq``) and each carries ``prev_hash``, the ``hash`` of the entry
before it (64 zeros for the first), and its own ``hash``: SHA-256 of the canonical JSON
of all its other fields. Editing, deleting, inserting or reordering entries breaks the
chain, and :func:`verify` names the first entry where it breaks.

There is no code path that updates or deletes an entry. On PostgreSQL, concurrent writers
(several issuer processes) take a transaction-scoped advisory lock before appending so the
chain never forks; on SQLite every write transaction holds the write lock from its start
(``BEGIN IMMEDIATE``, :mod:`issuer.store.db`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from issuer.store.models import AuditEntry

GENESIS = "0" * 64
#: Arbitrary constant naming the advisory lock that serialises appends on PostgreSQL.
_PG_LOCK_KEY = 0x0B0C_A0D1
ACTIONS = frozenset(
    {
        "issue",
        "revoke",
        "suspend",
        "reinstate",
        "supersede",
        "key_generate",
        "key_rotate",
        "key_retire",
        "key_compromised",
        "token_create",
        "token_revoke",
        "staff_password",
        "practitioner_correct",
        "status_list_repair",
    }
)


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    """The fields an entry's hash covers (everything but ``hash`` itself), as JSON values."""
    return _hashed({column: getattr(entry, column) for column in _COLUMNS[:-1]})


#: The columns of an entry; its hash covers every one but the last (``hash`` itself).
_COLUMNS = ("seq", "at", "actor", "action", "target", "category", "reason", "data", "prev_hash", "hash")


def _hashed(row: dict[str, Any]) -> dict[str, Any]:
    """The hashed fields of an entry given as column values (``hash`` left out)."""
    return {column: _stamp(row["at"]) if column == "at" else row[column] for column in _COLUMNS[:-1]}


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) of the entry's canonical JSON."""
    return hashlib.sha256(_canonical(entry_fields(entry))).hexdigest()


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    category: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction (the caller commits).

    Raises ``ValueError`` for an unknown ``action`` (a programming error).
    """
    record_many(session, [{"at": at, "actor": actor, "action": action, "target": target,
                           "category": category, "reason": reason, "data": data}])


#: Built once: the chain's newest link (on PostgreSQL after taking the chain's lock, in the
#: same round trip: migration 0012) and the append.
_LOCKED_NEWEST = text("SELECT head_seq, head_hash FROM audit_log_head(:key)")
_NEWEST = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = AuditEntry.__table__.insert()  # type: ignore[attr-defined]


def record_many(session: Session, items: Sequence[dict[str, Any]]) -> None:
    """Append several entries in the caller's transaction, in order (a bulk issuance's
    batch): each item holds the keyword arguments of :func:`record`. One lock, one read of
    the last entry and one INSERT, each entry chained to the one before.

    The caller's pending changes are written first, so that on PostgreSQL the chain's lock
    (which every writer queues on until it commits) is taken as late as possible and held
    only for the read, the append and the commit.

    Raises ``ValueError`` for an unknown ``action`` (a programming error).
    """
    if not items:
        return
    unknown = {item["action"] for item in items} - ACTIONS
    if unknown:
        raise ValueError(f"unknown audit action {sorted(unknown)!r}")
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        last = connection.execute(_LOCKED_NEWEST, {"key": _PG_LOCK_KEY}).first()
    else:  # SQLite: the transaction holds the database's write lock already
        last = connection.execute(_NEWEST).first()
    seq, prev_hash = (0, GENESIS) if last is None else (int(last[0]), str(last[1]))
    rows = []
    for item in items:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": item["at"].astimezone(UTC),
            "actor": item["actor"][:64],
            "action": item["action"],
            "target": item["target"][:200],
            "category": item.get("category"),
            "reason": item.get("reason"),
            "data": dict(item.get("data") or {}),
            "prev_hash": prev_hash,
        }
        prev_hash = row["hash"] = hashlib.sha256(_canonical(_hashed(row))).hexdigest()
        rows.append(row)
    connection.execute(_APPEND, rows)


def entries_for(session: Session, target_id: str) -> list[AuditEntry]:
    """Entries about one credential, practitioner or key (``<kind>:<target_id>``), oldest first."""
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.target.like(f"%:{target_id}")).order_by(AuditEntry.seq)
        )
    )


def entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry in ``seq`` order, read in batches."""
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify`: how many entries were checked and the first break."""

    checked: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain is intact."""
        return self.broken_seq is None


def verify(session: Session) -> ChainReport:
    """Check the whole chain: numbering, each hash, and each link to the entry before."""
    previous_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in entries(session):
        if entry.seq != expected_seq:
            return ChainReport(
                checked, entry.seq, f"entry {entry.seq} follows entry {expected_seq - 1}: entries are missing"
            )
        if entry.prev_hash != previous_hash:
            return ChainReport(
                checked,
                entry.seq,
                f"entry {entry.seq} does not link to the entry before it (removed, inserted or reordered)",
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(checked, entry.seq, f"entry {entry.seq} was altered after it was written")
        previous_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return ChainReport(checked)


def export(session: Session, out: TextIO) -> int:
    """Write every entry as one JSON object per line (with its ``hash``); returns the count."""
    count = 0
    for entry in entries(session):
        out.write(json.dumps(entry_json(entry), sort_keys=True) + "\n")
        count += 1
    return count


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """API form of one entry."""
    return {**entry_fields(entry), "hash": entry.hash}
