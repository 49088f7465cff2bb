"""Status list indexes for new credentials: unpredictable, never reused, given in O(1).

**Indexes.** Each list counts the slots it has given out (``status_lists.allocated``). A new
credential takes the next slot with one statement on the small ``status_lists`` table::

    UPDATE status_lists SET allocated = allocated + 1
     WHERE id = (newest list of the purpose with allocated < size * STATUS_LIST_FILL)
       AND allocated < size * STATUS_LIST_FILL
    RETURNING id, allocated, size, slot_key

(SQLite >= 3.35 and PostgreSQL), so neither choosing the list nor the index reads a single
status entry: the cost does not grow with the number of credentials. Slot ``n`` becomes
index :func:`permute` ``(n)``: a keyed pseudo-random permutation of ``[0, size)`` (a
Feistel network over the next even power of two, cycle-walking into range) whose key is
the list's own random ``slot_key``. A permutation is a bijection, so two slots never give
one index, by construction; the key is secret to the issuer, so the index of the next
credential cannot be guessed from earlier ones. The primary key ``(list_id, index)``
still guards: a duplicate would fail the issuance, never be stored.

**One credential.** A credential needs a slot of every purpose (:func:`allocate_each`). Each
process keeps a small reserve per purpose: it claims :data:`SLOT_BLOCK` consecutive slots of
the newest list with room in one statement (the same ``UPDATE ... SET allocated = allocated
+ n``, in a short transaction of its own, committed before any credential uses them) and
hands them out one by one, so a single issuance usually runs no statement at all for its
indexes. The database's counter is the only authority: two processes never hold the same
slot, and within a process each reserved slot is popped once (``deque.popleft``, atomic).
Slots still in a reserve when the process ends, or taken by an issuance that rolls back, are
never used (an index left 0, like any unused one). The reserve belongs to the process that
claimed it (a forked child starts its own). Inside a write transaction the caller opened on
SQLite (a renewal) a second connection could not write, so there the slots are claimed in
the caller's transaction, one statement for the three.

**Batches.** Bulk issuance claims the slots of a whole batch at once
(:func:`allocate_many`): the same ``UPDATE ... SET allocated = allocated + n`` when the
newest list has room for all ``n``; near a list's end, the counter is read and moved by
compare-and-set (``WHERE allocated = <as read>``, nothing changes if another claim came
between) for what is left, and the rest goes to a new list. One statement per purpose and
batch in the common case, on the same terms per database as a single slot.

**Fill.** A random draw with retries needed free room (lists stopped at half), a
permutation does not: a list is given out completely (``STATUS_LIST_FILL = 1.0``), which
doubles the herd a credential hides in and halves the lists a verifier fetches and we
re-sign. ``STATUS_LIST_FILL`` still caps the slots of every list (read at each allocation;
tests lower it to force roll-over). Lists made before migration 0008 had random indexes
and are marked full, so new credentials go to new lists.

**Concurrency.** A reserve is claimed outside the issuing transaction: on SQLite in a
``BEGIN IMMEDIATE`` transaction of its own (the issuance reads and signs without the write
lock, see :func:`issuer.credentials.issuance.issue`); on PostgreSQL by an autocommit
statement on a separate small pool (:func:`_claims_engine`), so the list's row is locked for
that one statement only (one row per statement, so a claim never holds one list while it
waits for another: no cycle of waits with other claims or with re-signs can form). Inside
the issuing transaction, every issuer would wait for the one before it to sign, write its
audit entry and commit. A new list is made in a short transaction committed before its
first slot is taken, so other processes can fill it. Processes that start a new list at
the same moment each fill theirs. ``tests/unit/issuer/test_concurrent_issuing.py`` proves indexes
unique with four processes on both databases.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, Float, Integer, Table, bindparam, create_engine, event, select, update
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.credentials.status_lists import new_list
from issuer.errors import Conflict
from issuer.store.models import StatusEntry, StatusList
from vc.status_list import MIN_ENTRIES, PURPOSES, status_entry

#: Fraction of a list's indexes given out before a new list is started. Indexes come from
#: a permutation (never a random draw that needs free room), so a list is filled completely.
STATUS_LIST_FILL = 1.0

#: Feistel rounds of :func:`permute` (four make a strong pseudo-random permutation).
FEISTEL_ROUNDS = 6

def permute(slot: int, size: int, key: bytes) -> int:
    """The index of ``slot`` in a list of ``size``: a bijection of ``[0, size)`` keyed by ``key``.

    A balanced Feistel network over ``2**bits`` values (``bits`` even, ``2**bits >= size``),
    round function BLAKE2b keyed by ``key``; values outside ``[0, size)`` are permuted again
    (cycle walking) until they fall inside, which keeps it a bijection of ``[0, size)``.
    """
    return permute_many([slot], size, key)[0]


def permute_many(slots: Sequence[int], size: int, key: bytes) -> list[int]:
    """:func:`permute` of each of ``slots``.

    A round's function has only ``2**half`` inputs (512 for a list of :data:`MIN_ENTRIES`),
    so each output is computed once per list key and kept (:func:`_round_tables`): a slot then
    costs table look-ups, not a dozen BLAKE2b digests (a bulk batch spent a tenth of its time
    here). The outputs are the same digests, so every index is the one given before.
    """
    bits = max(2, (size - 1).bit_length())
    bits += bits % 2
    half = bits // 2
    mask = (1 << half) - 1
    tables = _round_tables(key, half)
    out = []
    for slot in slots:
        if not 0 <= slot < size:
            raise ValueError(f"slot {slot} is outside [0, {size})")
        value = slot
        while True:
            left, right = value >> half, value & mask
            for round_, table in enumerate(tables):
                output = table[right]
                if output < 0:  # not computed yet (another thread may race us to the same value)
                    output = table[right] = _round_output(key, round_, right) & mask
                left, right = right, left ^ output
            value = (left << half) | right
            if value < size:
                break
        out.append(value)
    return out


def _round_output(key: bytes, round_: int, right: int) -> int:
    """The Feistel round function: BLAKE2b keyed by ``key`` of the round byte and ``right``."""
    digest = hashlib.blake2b(bytes((round_,)) + right.to_bytes(8, "big"), key=key, digest_size=8)
    return int.from_bytes(digest.digest(), "big")


@functools.lru_cache(maxsize=32)
def _round_tables(key: bytes, half: int) -> list[list[int]]:
    """Per round, the round function's outputs for each of the ``2**half`` inputs, filled in
    as they are first needed (-1: not yet). One list's key and width each; the newest 32 are
    kept (a process fills a few lists at a time)."""
    return [[-1] * (1 << half) for _ in range(FEISTEL_ROUNDS)]


_LISTS: Table = StatusList.__table__  # type: ignore[assignment]


def _newest_with_room(purpose: str, fill: Any = None) -> Any:
    room = StatusList.allocated < StatusList.size * (STATUS_LIST_FILL if fill is None else fill)
    return (
        select(StatusList.id)
        .where(StatusList.purpose == purpose, room)
        .order_by(StatusList.created_at.desc(), StatusList.id)
        .limit(1)
    )


def _claim(purpose: str) -> Any:
    """Take the next ``:count`` slots of the newest list of ``purpose`` with room, if it has
    room for all of them (see the module docstring); ``:fill`` is :data:`STATUS_LIST_FILL`
    as now. Built once per purpose (:data:`_CLAIM_RUN`), run on a Core connection."""
    fill, count = bindparam("fill", type_=Float), bindparam("count", type_=Integer)
    return (
        update(_LISTS)
        .where(_LISTS.c.id == _newest_with_room(purpose, fill).scalar_subquery(),
               _LISTS.c.allocated + count - 1 < _LISTS.c.size * fill)
        .values(allocated=_LISTS.c.allocated + count)
        .returning(_LISTS.c.purpose, _LISTS.c.id, _LISTS.c.allocated, _LISTS.c.size, _LISTS.c.slot_key)
    )


_CLAIMS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _claims_engine(engine: Engine) -> Engine:
    """PostgreSQL: a small autocommit pool of its own for slot claims, disposed with ``engine``.

    Separate from the sessions' pool so that a request holding its session's connection
    never waits for a second one from the same exhausted pool (a claim holds its connection
    for one statement and waits for nothing else).
    """
    found = _CLAIMS.get(engine)
    if found is None:
        found = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=-1,
                              pool_pre_ping=True)
        _CLAIMS[engine] = found
        event.listen(engine, "engine_disposed", lambda _conn: found.dispose())
        weakref.finalize(engine, found.dispose)  # an engine dropped without dispose() closes it too
    return found


def _claims_of(session: Session) -> Engine | None:
    """PostgreSQL: the autocommit engine slot claims run on; SQLite: ``None`` (the session's own)."""
    bind = session.get_bind()
    return _claims_engine(bind) if isinstance(bind, Engine) and bind.dialect.name == "postgresql" else None


def _take_slot(session: Session, ctx: IssuerContext, purpose: str) -> tuple[str, int, int, str]:
    """SQLite, in the caller's write transaction: ``(list id, slots given including ours,
    size, slot key)`` of a newly taken slot, starting a new list when none has room."""
    for _ in range(8):
        taken = session.connection().execute(
            _CLAIM_RUN[purpose], {"fill": STATUS_LIST_FILL, "count": 1}).first()
        if taken is not None:
            return str(taken[1]), int(taken[2]), int(taken[3]), str(taken[4])
        new_list(session, ctx, purpose)
    raise Conflict("could not allocate a status list index; try again")


def _claim_one_each() -> Any:
    """SQLite: one slot of the newest list with room of every purpose, in one statement. A
    purpose whose newest list has no room (or that has no list yet) is simply not among the
    rows returned."""
    fill = bindparam("fill", type_=Float)
    newest = [_newest_with_room(purpose, fill).scalar_subquery() for purpose in PURPOSES]
    return (
        update(StatusList)
        .where(StatusList.id.in_(newest), StatusList.allocated < StatusList.size * fill)
        .values(allocated=StatusList.allocated + 1)
        .returning(StatusList.purpose, StatusList.id, StatusList.allocated, StatusList.size,
                   StatusList.slot_key)
        .execution_options(synchronize_session=False)
    )


#: Built once (SQLAlchemy then finds their compiled forms without rebuilding or re-keying
#: them); ``fill`` is bound at each use, as :data:`STATUS_LIST_FILL` is read at each allocation.
_CLAIM_ONE_EACH = _claim_one_each()
_CLAIM_RUN = {purpose: _claim(purpose) for purpose in PURPOSES}

Slot = tuple[str, str, int]  # purpose, list id, index

#: Slots of each purpose a process claims at once for single issuances (its reserve).
SLOT_BLOCK = 32


class _Reserve:
    """One process's reserved slots for one engine: per purpose, ``(list id, index)`` pairs
    claimed in the database and not yet given to a credential."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.slots: dict[str, deque[tuple[str, int]]] = {purpose: deque() for purpose in PURPOSES}


_RESERVES: weakref.WeakKeyDictionary[Engine, _Reserve] = weakref.WeakKeyDictionary()


def _reserve_of(engine: Engine) -> _Reserve:
    """This process's reserve for ``engine`` (a new, empty one after a fork)."""
    found = _RESERVES.get(engine)
    if found is None or found.pid != os.getpid():
        found = _RESERVES[engine] = _Reserve()
    return found


def _sqlite_writing(session: Session) -> bool:
    """Whether ``session`` holds SQLite's write lock (a write transaction is open), so that
    no other connection of this process could write until it ends."""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    return not session.connection().get_execution_options().get("read_only", False)


def _claim_block(session: Session, ctx: IssuerContext, purpose: str) -> list[tuple[str, int]]:
    """Up to :data:`SLOT_BLOCK` new slots of ``purpose``, all of one list, claimed and
    committed outside the session's transaction (see the module docstring)."""
    claims = _claims_of(session)
    if claims is not None:

        def first(statement: Any, params: dict[str, Any] | None = None) -> Any:
            with claims.connect() as conn:
                return conn.execute(statement, params).first()

        def start_list() -> None:
            with Session(claims) as own:
                new_list(own, ctx, purpose)
                own.commit()

        return _block(first, start_list, purpose)
    with Session(session.get_bind()) as own:  # SQLite: a short write transaction of its own
        pairs = _block(lambda statement, params=None: own.connection().execute(statement, params).first(),
                       lambda: new_list(own, ctx, purpose), purpose)
        own.commit()
    return pairs


def _block(
    first: Callable[..., Any], start_list: Callable[[], object], purpose: str
) -> list[tuple[str, int]]:
    """One run of slots of the newest list of ``purpose`` with room (a new list when none)."""
    for _ in range(8):
        taken = _take_run(first, purpose, SLOT_BLOCK)
        if taken == NO_ROOM:
            start_list()
        elif isinstance(taken, tuple):
            list_id, first_slot, count, size, slot_key = taken
            indexes = permute_many(range(first_slot, first_slot + count), size, bytes.fromhex(slot_key))
            return [(list_id, index) for index in indexes]
    raise Conflict("could not allocate a status list index; try again")


def allocate_each(session: Session, ctx: IssuerContext) -> list[Slot]:
    """A new index of every purpose for one credential, in :data:`PURPOSES` order:
    unpredictable and never given before (see the module docstring), usually from this
    process's reserve without a statement; a reserve that runs dry is refilled with one
    claim of :data:`SLOT_BLOCK` slots. Inside an open SQLite write transaction, claimed in
    it (one statement for the three). Only the counters are written: the caller stores the
    status entries.
    """
    if _sqlite_writing(session):
        rows = session.connection().execute(_CLAIM_ONE_EACH, {"fill": STATUS_LIST_FILL}).all()
        taken = {str(r[0]): (str(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows}
        slots = []
        for purpose in PURPOSES:
            list_id, allocated, size, slot_key = taken.get(purpose) or _take_slot(session, ctx, purpose)
            slots.append((purpose, list_id, permute(allocated - 1, size, bytes.fromhex(slot_key))))
        return slots
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    reserve = _reserve_of(bind)
    given = []
    for purpose in PURPOSES:
        queue = reserve.slots[purpose]
        while True:
            try:
                list_id, index = queue.popleft()
                break
            except IndexError:
                queue.extend(_claim_block(session, ctx, purpose))
        given.append((purpose, list_id, index))
    return given


def status_entries(ctx: IssuerContext, slots: Sequence[Slot]) -> list[dict[str, str]]:
    """The ``credentialStatus`` entries of a credential given ``slots``."""
    return [status_entry(ctx.list_url(purpose, list_id), purpose, index) for purpose, list_id, index in slots]


def entry_rows(slots: Sequence[Slot], credential_id: str | None = None) -> list[StatusEntry]:
    """The stored status entries of a credential given ``slots`` (its ``entries``)."""
    return [StatusEntry(list_id=list_id, index=index, purpose=purpose, credential_id=credential_id)
            for purpose, list_id, index in slots]


Run = tuple[str, int, int, int, str]  # list id, first slot, slots, list size, slot key
#: What :func:`_take_run` answers when no list of the purpose has room.
NO_ROOM = "no room"


def _take_run(first: Callable[..., Any], purpose: str, count: int) -> Run | str | None:
    """Up to ``count`` slots of the newest list of ``purpose`` with room; :data:`NO_ROOM`
    when no list has any, ``None`` when a concurrent claim moved the counter first.

    The common case is one statement: the list has room for all of them. Near a list's end
    the counter is read, then moved by compare-and-set (``WHERE allocated = <as read>``), so
    a claim that comes between the two makes ours change nothing rather than overlap.
    """
    whole = first(_CLAIM_RUN[purpose], {"fill": STATUS_LIST_FILL, "count": count})
    if whole is not None:
        return str(whole[1]), int(whole[2]) - count, count, int(whole[3]), str(whole[4])
    seen = first(
        select(StatusList.id, StatusList.allocated, StatusList.size, StatusList.slot_key)
        .where(StatusList.id == _newest_with_room(purpose).scalar_subquery())
    )
    if seen is None:
        return NO_ROOM
    list_id, allocated, size, slot_key = str(seen[0]), int(seen[1]), int(seen[2]), str(seen[3])
    left = math.ceil(size * STATUS_LIST_FILL) - allocated  # what single claims could still take
    take = max(1, min(count, left))
    moved = first(
        update(StatusList)
        .where(StatusList.id == list_id, StatusList.allocated == allocated)
        .values(allocated=allocated + take)
        .returning(StatusList.id)
        .execution_options(synchronize_session=False)
    )
    return None if moved is None else (list_id, allocated, take, size, slot_key)


def allocate_many(session: Session, ctx: IssuerContext, purpose: str, count: int) -> list[tuple[str, int]]:
    """``count`` new ``(list id, index)`` pairs of ``purpose`` for a batch of credentials,
    claimed as :func:`allocate_each` claims one (the same lists, permutations and transaction
    rules per database), usually with one statement for the whole batch.

    Only the lists' counters are written (and a new list when one fills up): the caller
    inserts the status entries with its credentials. A slot it does not use stays unused.
    """
    claims = _claims_of(session)

    def first(statement: Any, params: dict[str, Any] | None = None) -> Any:
        if claims is None:
            return session.connection().execute(statement, params).first()
        with claims.connect() as conn:
            return conn.execute(statement, params).first()

    runs: list[Run] = []
    wanted = count
    for _ in range(64 + count // MIN_ENTRIES):
        if wanted <= 0:
            break
        taken = _take_run(first, purpose, wanted)
        if taken == NO_ROOM:
            if claims is not None:
                with Session(claims) as own:
                    new_list(own, ctx, purpose)
                    own.commit()
            else:
                new_list(session, ctx, purpose)
        elif isinstance(taken, tuple):
            runs.append(taken)
            wanted -= taken[2]
    if wanted > 0:
        raise Conflict("could not allocate status list indexes; try again")
    pairs: list[tuple[str, int]] = []
    for list_id, first_slot, slots, size, slot_key in runs:
        indexes = permute_many(range(first_slot, first_slot + slots), size, bytes.fromhex(slot_key))
        pairs += [(list_id, index) for index in indexes]
    return pairs
