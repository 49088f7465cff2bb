"""The per-credential work of bulk issuance, in this process or in worker processes.

Bulk issuance (:mod:`issuer.credentials.bulk`) reads, allocates and writes in the
database; everything between is pure CPU per practitioner and is done here, by a
:class:`Work` object, in two steps per batch:

1. :meth:`Work.check`: the candidates are made from the rows read
   (:func:`candidates.candidates_from`) and every requirement is evaluated; the eligible
   ones are kept for step 2 and their ids answered, with the unmet requirements of the others;
2. :meth:`Work.sign`: given each eligible practitioner's status list indexes (allocated by
   the caller in its transaction, for the eligible only), the credential is made, its
   claims built, signed with the issuer's active key (:func:`vc.jose.sign_parts`) and packed
   as stored from the parts signed (:func:`compact.pack_parts`): the caller inserts those
   bytes as they are.

A :class:`Lanes` runs the steps: :class:`InProcess` calls one :class:`Work` directly
(the API and the console, inside a server's worker); :class:`WorkerPool` forks worker
processes (the command line, ``--workers``), each with its own copy of the :class:`Work`
made before the fork, and sends each one a contiguous slice of the batch (lane ``i`` is
always worker ``i``, which kept its eligible candidates between the two steps).

**Keys.** A worker signs with the signer it inherits from the issuer process at the fork
(the key store's active key, in memory): no key is read again, sent through a pipe or
written anywhere.

**No effect on the guarantees.** A worker never touches the database (it never uses the
connections it inherits, and leaves with ``os._exit``, so nothing of the parent's is closed
by it). Which credentials exist, their status indexes and audit entries are decided by the
caller's transaction exactly as before: a worker only turns rows into signed bytes. If the
issuing process dies (even ``kill -9``), its workers see their pipe and the parent's
sentinel close and exit at once; if a worker dies or fails, the batch raises and rolls back.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from issuer.context import IssuerContext
from issuer.credentials import candidates, issuance
from issuer.errors import IssuerError
from issuer.rules.facts import Candidate
from issuer.rules.programs import Program
from issuer.store import compact
from vc import credential as vcc
from vc import jose
from vc.errors import UnsupportedAlgorithm
from vc.status_list import PURPOSES, status_entry

#: One practitioner's verdict from :meth:`Work.check`: id, and the unmet requirements
#: (``None`` when eligible).
Verdict = tuple[str, list[dict[str, Any]] | None]
#: What :meth:`Work.sign` is given per eligible practitioner: id, and ``(list id, index)``
#: per purpose of :data:`PURPOSES`, in that order.
Assignment = tuple[str, list[tuple[str, int]]]
#: What :meth:`Work.sign` answers per practitioner: id, then either the new credential's
#: id and stored token (:func:`compact.pack_parts` bytes) and ``None``, or ``None, None``
#: and why the issuer refused it.
Signed = tuple[str, str | None, bytes | None, str | None]


class Work:
    """The per-credential steps of one bulk run for one program (see the module docstring).

    Holds the eligible candidates between :meth:`check` and :meth:`sign` of a batch.
    """

    def __init__(self, ctx: IssuerContext, program: Program) -> None:
        signer = ctx.signer
        if signer.alg not in jose.SUPPORTED_ALGORITHMS:
            raise UnsupportedAlgorithm(f"signing algorithm {signer.alg} is not supported")
        self._ctx = ctx
        self._program = program
        self._signer = signer
        self._eligible: dict[str, tuple[candidates.Person, Candidate]] = {}
        self._urls: dict[tuple[str, str], str] = {}

    @property
    def kid(self) -> str:
        """The key id every credential of this run is signed under."""
        return self._signer.kid

    def check(self, rows: candidates.Rows, today: date) -> list[Verdict]:
        """Every practitioner of ``rows`` (order kept) with the requirements unmet on
        ``today``, or ``None`` when eligible: those are kept for :meth:`sign` (in place of
        the ones of the batch before)."""
        self._eligible = {}
        verdicts: list[Verdict] = []
        for person, candidate in candidates.candidates_from(rows):
            unmet = [o.as_dict() for o in self._program.evaluate(candidate, today) if not o.ok]
            if unmet:
                verdicts.append((person.id, unmet))
            else:
                self._eligible[person.id] = (person, candidate)
                verdicts.append((person.id, None))
        return verdicts

    def sign(
        self, valid_from: datetime, valid_until: datetime, assignments: Sequence[Assignment]
    ) -> list[Signed]:
        """A signed credential for each practitioner of ``assignments`` (eligible in the
        last :meth:`check`), with these status list indexes, valid from ``valid_from`` to
        ``valid_until``; one the issuer refuses (:class:`IssuerError`) is answered with why."""
        out: list[Signed] = []
        for practitioner_id, slots in assignments:
            person, candidate = self._eligible.pop(practitioner_id)
            credential_id = str(uuid.uuid4())
            status = [status_entry(self._url(purpose, list_id), purpose, index)
                      for purpose, (list_id, index) in zip(PURPOSES, slots, strict=True)]
            try:
                data = issuance.credential_data(self._ctx, self._program, person.as_practitioner(), candidate,
                                                credential_id, valid_from, valid_until, status)
                token = self._packed(vcc.build_claims(data))
            except IssuerError as exc:
                out.append((practitioner_id, None, None, exc.detail))
                continue
            out.append((practitioner_id, credential_id, token, None))
        return out

    def _url(self, purpose: str, list_id: str) -> str:
        url = self._urls.get((purpose, list_id))
        if url is None:
            url = self._urls[(purpose, list_id)] = self._ctx.list_url(purpose, list_id)
        return url

    def _packed(self, claims: dict[str, Any]) -> bytes:
        """The stored form of ``vc.jose.sign(claims, signer, typ=TYP, cty=CTY)``, packed from
        the parts it signed (:func:`compact.pack_parts`, the bytes :func:`compact.pack`
        gives for the token, without decoding it again)."""
        signed = jose.sign_parts(claims, self._signer, typ=vcc.TYP, cty=vcc.CTY)
        return compact.pack_parts(signed.header, signed.payload, signed.signature)


class Lanes(Protocol):
    """Runs :class:`Work` steps: call ``i`` of :meth:`run` goes to lane ``i``.

    :meth:`send` and :meth:`receive` split :meth:`run` in two, so that the caller works
    while the lanes do (bulk issuance writes one batch while the next is signed). Answers
    come back in the order the calls were sent: each :meth:`receive` answers the oldest
    :meth:`send` not yet answered.
    """

    @property
    def lanes(self) -> int:
        """How many calls :meth:`run` takes at once (the caller splits a batch so)."""
        ...

    def send(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Start ``getattr(work_i, method)(*args)`` for each ``(method, args)``, ``i`` its position."""
        ...

    def receive(self) -> list[Any]:
        """The answers to the oldest :meth:`send` not yet answered, in its calls' order."""
        ...

    def run(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """:meth:`send` then :meth:`receive`: all at once, the answers in the same order."""
        ...


class InProcess:
    """One lane: the :class:`Work` runs in this process, when its answers are asked for
    (:meth:`receive`), in the order the calls were sent."""

    lanes = 1

    def __init__(self, work: Work) -> None:
        self._work = work
        self._sent: deque[Sequence[tuple[str, tuple[Any, ...]]]] = deque()

    def send(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """See :class:`Lanes`."""
        if len(calls) > 1:
            raise ValueError("one lane only")
        self._sent.append(calls)

    def receive(self) -> list[Any]:
        """See :class:`Lanes`."""
        return [getattr(self._work, method)(*args) for method, args in self._sent.popleft()]

    def run(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """See :class:`Lanes`."""
        self.send(calls)
        return self.receive()


class WorkerFailed(RuntimeError):
    """A worker process failed (its error and traceback in the message) or died."""


class WorkerPool:
    """``count`` forked worker processes, each with a copy of ``work``; see the module
    docstring. Use :func:`lanes_for`, which closes it."""

    def __init__(self, work: Work, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        self._sent: deque[int] = deque()  # per send not yet answered, how many lanes it used
        # The objects there are now go to the collector's permanent generation while we fork:
        # a worker's collections then never walk the whole inherited heap (nor copy its pages
        # by touching them); this process takes them back afterwards.
        gc.freeze()
        try:
            for _ in range(count):
                ours, theirs = context.Pipe()
                # The child closes our ends of every pipe made so far (its own included), so
                # that each worker's pipe reads end-of-file as soon as this process is gone.
                process = context.Process(target=_serve, args=(theirs, work, [*self._conns, ours]),
                                          daemon=True, name="bulk-signing")
                process.start()
                theirs.close()
                self._conns.append(ours)
                self._processes.append(process)
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    @property
    def lanes(self) -> int:
        """One lane per worker."""
        return len(self._conns)

    def send(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """See :class:`Lanes`."""
        if len(calls) > len(self._conns):
            raise ValueError(f"{len(calls)} calls for {len(self._conns)} lanes")
        for conn, call in zip(self._conns, calls, strict=False):
            conn.send(call)
        self._sent.append(len(calls))

    def receive(self) -> list[Any]:
        """See :class:`Lanes`; raises :class:`WorkerFailed`."""
        count = self._sent.popleft()
        answers = []
        for conn, process in zip(self._conns[:count], self._processes[:count], strict=True):
            try:
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                raise WorkerFailed(f"bulk signing worker {process.pid} died "
                                   f"(exit code {process.exitcode})") from exc
            if status != "ok":
                raise WorkerFailed(f"bulk signing worker {process.pid} failed: {value}")
            answers.append(value)
        return answers

    def run(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """See :class:`Lanes`; raises :class:`WorkerFailed`."""
        self.send(calls)
        return self.receive()

    def close(self) -> None:
        """Stop the workers (at once if they do not stop when asked)."""
        for conn in self._conns:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self._conns, self._processes = [], []


def _serve(conn: Connection, work: Work, parents_ends: list[Connection]) -> None:
    """A worker's loop: answer ``(method, args)`` until told to stop (``None``) or the
    issuing process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the issuing process decides
    for end in parents_ends:
        end.close()
    parent = multiprocessing.parent_process()
    watched: list[Any] = [conn] + ([parent.sentinel] if parent is not None else [])
    while True:
        wait(watched)
        if not conn.poll():  # only the parent's sentinel: it is gone
            return
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        method, args = message
        try:
            answer: tuple[str, Any] = ("ok", getattr(work, method)(*args))
        except Exception as exc:  # noqa: BLE001 - any failure goes back to the issuing process
            answer = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        try:
            conn.send(answer)
        except OSError:
            return


def default_workers() -> int:
    """Worker processes when not told: one per core this process may use when there are
    several, none (in-process) on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 else 0


def can_fork() -> bool:
    """Whether worker processes may be forked here: the platform forks, and this process
    runs no other thread (a thread holding a lock at the fork would leave it held in the
    child forever)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


@contextmanager
def lanes_for(ctx: IssuerContext, program: Program, workers: int) -> Iterator[Lanes]:
    """The lanes of a bulk run: ``workers`` forked processes, or this process when
    ``workers`` is 0 or forking is not safe here (:func:`can_fork`). The workers are
    stopped on leaving."""
    work = Work(ctx, program)
    if workers <= 0 or not can_fork():
        yield InProcess(work)
        return
    pool = WorkerPool(work, workers)
    try:
        yield pool
    finally:
        pool.close()
