"""The SQLite writer: one thread, one connection, group commit.

Callers on the event loop submit programs; the thread takes every unit of work queued
so far, runs each inside its own SAVEPOINT of one ``BEGIN IMMEDIATE`` transaction and
commits them together, so a burst of small writes costs one fsync-bounded commit. A unit
that raises is rolled back to its savepoint without sinking the others.

The thread outlives any failure of one group: when a statement or the COMMIT fails (disk
full, I/O error, read-only or corrupt file), SQLite may already have rolled the
transaction back, so the writer rolls back only if one is still open, and every caller of
the group gets the translated error. The next group tries again, so calls fail fast while
the cause lasts and succeed again once it is gone.

The queue of units is bounded: past ``max_pending`` units submitted and not yet settled,
``submit`` refuses at once with :class:`~stormproof.errors.Throttled` (``retry_after``
0.05 s), so a burst that outruns the disk gets back-pressure, never unbounded memory; the
units already accepted are committed as usual.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stormproof.errors import StoreError, Throttled
from stormproof.storage import sqlfiles, sqlite_bulk, sqlite_tx
from stormproof.storage.program import Call, Program, Row, Steps, Stmt
from stormproof.storage.sqlite_errors import translate
from stormproof.storage.sqlite_open import connect
from stormproof.storage.sqlite_watch import WalWatch

log = logging.getLogger("stormproof")
_MAX_GROUP = 512
MAX_PENDING = 8192  # units queued or committing at once; 16 groups' worth
RETRY_AFTER = 0.05  # about one group commit: when a refused caller may try again
_IDLE_POLL = 0.02  # how often the writer looks for other connections' commits
_POKE = object()  # "a receiver started waiting: look for other connections' commits now"


@dataclass
class _Job:
    factory: Callable[[], Program[Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class _GroupLost(Exception):
    """SQLite rolled the whole transaction back on its own; no unit of the group holds."""

    def __init__(self, cause: sqlite3.Error) -> None:
        self.cause = cause
        super().__init__(str(cause))


class SqliteWriter:
    """Owns the connection thread; see the module docstring."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        clock: Callable[[], float],
        loop: asyncio.AbstractEventLoop,
        wake: Callable[[dict[str, int] | None], None],
        max_pending: int = MAX_PENDING,
    ) -> None:
        if not 1 <= max_pending <= 1_000_000:
            raise ValueError(f"max_pending={max_pending!r}: must be 1..1000000")
        self._path = path
        self.max_pending = max_pending
        self.pending = 0  # submitted, not yet settled; changed only on the event loop
        self._synchronous = synchronous
        self._clock = clock
        self._loop = loop
        self._wake = wake  # runs on the event loop
        self._jobs: queue.SimpleQueue[_Job | object | None] = queue.SimpleQueue()
        self._queries = sqlfiles.queries("sqlite")
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._current: list[_Job] = []
        self.died: BaseException | None = None  # why the thread ended, if not by stop()
        self.waiters = 0  # read by the thread: poll for other connections only when needed
        self._watch = WalWatch(path, self._noticed)
        self._poked = False  # a poke from the watch is queued: one is enough

    @property
    def alive(self) -> bool:
        """Whether the thread still serves jobs."""
        return self._thread is not None and self._thread.is_alive() and self.died is None

    def start(self) -> None:
        """Open the connection on the writer thread and apply migrations."""
        self._thread = threading.Thread(target=self._run, name="stormproof-sqlite", daemon=True)
        self._thread.start()
        self._ready.wait()
        if isinstance(self._startup_error, sqlite3.Error):
            raise translate(self._startup_error, self._path, "opening")
        if self._startup_error is not None:
            raise StoreError(f"cannot open {self._path}: {self._startup_error}")
        self._watch.start()

    def stop(self, timeout: float) -> bool:
        """Finish queued work, then close; False if the thread did not end in ``timeout``."""
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        self._watch.stop()
        self._jobs.put(None)
        thread.join(timeout)
        if thread.is_alive():
            self._fail_pending(StoreError(f"SQLite store {self._path}: closed", cause="closed"))
            self._jobs.put(None)  # draining took the stop signal: a thread that wakes ends
            return False
        return True

    def submit(self, factory: Callable[[], Program[Any]]) -> asyncio.Future[Any]:
        """Queue a program; the future resolves after its transaction commits.

        Raises ``Throttled`` when ``max_pending`` units are already waiting.
        """
        if self.pending >= self.max_pending:
            raise Throttled(
                "sqlite-writer",
                f"SQLite store {self._path}: {self.pending} units pending "
                f"(max_pending={self.max_pending}); retry after {RETRY_AFTER} s",
                retry_after=RETRY_AFTER,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending += 1
        future.add_done_callback(self._settled)
        self._jobs.put(_Job(factory, loop, future))
        return future

    def _settled(self, _future: asyncio.Future[Any]) -> None:
        self.pending -= 1

    def poke(self) -> None:
        """Make an idle thread look for other connections' commits now."""
        self._jobs.put(_POKE)

    def _noticed(self) -> None:
        # On the watch's thread, after a write to the WAL (ours or another process's):
        # only a waiting receiver cares, and one queued poke covers any number of writes.
        if self.waiters and not self._poked:
            self._poked = True
            self._jobs.put(_POKE)

    # --- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = connect(self._path, self._synchronous)
        except (sqlite3.Error, OSError) as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._serve(conn)
        except BaseException as exc:  # a bug, not a store failure: report it, never hang
            self.died = exc
            log.error("event=sqlite.writer_died path=%s error=%r", self._path, exc)
            self._fail_pending(StoreError(f"SQLite writer of {self._path} died: {exc!r}"))
        finally:
            conn.close()

    def _serve(self, conn: sqlite3.Connection) -> None:
        version = _data_version(conn)
        polled = time.monotonic()
        while True:
            try:
                job = self._jobs.get(timeout=_IDLE_POLL if self.waiters else None)
            except queue.Empty:
                job = _POKE
            if job is None:
                return
            if job is _POKE:
                self._poked = False
            if isinstance(job, _Job):
                self._current = self._take_group(job)
                self._commit_group(conn, self._current)
                self._current = []
            if self.waiters and (job is _POKE or time.monotonic() - polled >= _IDLE_POLL):
                version, polled = self._poll_others(conn, version), time.monotonic()

    def _take_group(self, first: _Job) -> list[_Job]:
        batch = [first]
        while len(batch) < _MAX_GROUP:
            try:
                nxt = self._jobs.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._jobs.put(None)
                break
            if isinstance(nxt, _Job):
                batch.append(nxt)
        return batch

    def _poll_others(self, conn: sqlite3.Connection, version: int | None) -> int | None:
        # data_version changes only for commits by *other* connections (in this process
        # or another); if it cannot be read, wake everyone so they meet the error.
        current = _data_version(conn)
        if (current is None or current != version) and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake, None)
        return current

    def _fail_pending(self, error: StoreError) -> None:
        pending = [j for j in self._current if not j.future.done()]
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, _Job):
                pending.append(job)
        for job in pending:
            if not job.loop.is_closed():
                job.loop.call_soon_threadsafe(_settle, job.future, False, error)

    def _commit_group(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        try:
            outcomes, notified = self._try_group(conn, batch)
        except Exception as exc:  # one group's failure, whatever it is, ends only that group
            cause = exc.cause if isinstance(exc, _GroupLost) else exc
            _rollback(conn)
            log.warning("event=sqlite.group_failed path=%s error=%s", self._path, cause)
            error = (
                translate(cause, self._path, "commit")
                if isinstance(cause, sqlite3.Error)
                else StoreError(f"SQLite store {self._path}: commit failed: {cause!r}")
            )
            outcomes, notified = [(False, error)] * len(batch), {}
        self._deliver(batch, outcomes, notified)

    def _try_group(
        self, conn: sqlite3.Connection, batch: list[_Job]
    ) -> tuple[list[tuple[bool, Any]], dict[str, int]]:
        notified: dict[str, int] = {}
        conn.execute("BEGIN IMMEDIATE")
        # A lone unit needs no savepoint: on failure the whole transaction rolls back.
        alone = len(batch) == 1
        outcomes = [self._run_unit(conn, job, notified, savepoint=not alone) for job in batch]
        if alone and not outcomes[0][0]:
            _rollback(conn)
            return outcomes, {}
        conn.execute("COMMIT")
        return outcomes, notified

    def _deliver(
        self, batch: list[_Job], outcomes: list[tuple[bool, Any]], notified: dict[str, int]
    ) -> None:
        # One hand-off to the event loop per group: results first, then the wake-ups.
        def settle() -> None:
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                _settle(job.future, ok, value)
            if notified:
                self._wake(notified)

        if not batch[0].loop.is_closed():
            batch[0].loop.call_soon_threadsafe(settle)

    def _run_unit(
        self, conn: sqlite3.Connection, job: _Job, notified: dict[str, int], savepoint: bool
    ) -> tuple[bool, Any]:
        if savepoint:
            conn.execute("SAVEPOINT unit")
        mine: dict[str, int] = {}
        try:
            value = drive(conn, self._queries, job.factory(), self._clock(), mine)
        except Exception as exc:  # any failure of one unit must reach its caller, not the thread
            if savepoint and not conn.in_transaction:
                if isinstance(exc, sqlite3.Error):
                    raise _GroupLost(exc) from exc
                raise
            if savepoint:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            if isinstance(exc, sqlite3.Error):
                return False, translate(exc, self._path)
            return False, exc
        if savepoint:
            conn.execute("RELEASE unit")
        for name, count in mine.items():
            notified[name] = notified.get(name, 0) + count
        return True, value


def _data_version(conn: sqlite3.Connection) -> int | None:
    try:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])
    except sqlite3.Error:
        return None


def _rollback(conn: sqlite3.Connection) -> None:
    # After a failed statement or COMMIT SQLite may have rolled back already: a ROLLBACK
    # then raises "no transaction is active", which must not end the thread.
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("event=sqlite.rollback_failed error=%s", exc)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


_SEQUENCES = (list, tuple)  # a tuple, not ``list | tuple``: a union is built per test


def _bind(params: Any, now: float) -> dict[str, Any]:
    # Runs once per row of every statement (a bulk send binds thousands): copy, then
    # replace only the lists, which SQLite takes as their JSON text.
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, _SEQUENCES):
            out[key] = json.dumps(value)
    out["now"] = now
    return out


def execute(conn: sqlite3.Connection, queries: dict[str, str], stmt: Stmt, now: float) -> list[Row]:
    """Run one statement; rows, or ``[(rowcount,)]`` when it returns none."""
    sql = queries[stmt.name]
    if stmt.many:
        rows = stmt.batch()
        if len(rows) > 1 and stmt.name in sqlite_bulk.JSON_FORMS:
            form, params = sqlite_bulk.as_json(stmt.name, rows, now)
            cur = conn.execute(queries[form], params)
        else:
            cur = conn.executemany(sql, [_bind(p, now) for p in rows])
        return [(cur.rowcount,)]
    cur = conn.execute(sql, _bind(stmt.single(), now))
    if cur.description is None:
        return [(cur.rowcount,)]
    return cur.fetchall()


def drive(
    conn: sqlite3.Connection,
    queries: dict[str, str],
    prog: Program[Any],
    now: float,
    notified: dict[str, int],
) -> Any:
    """Run a program to completion on ``conn`` (inside the caller's transaction)."""
    steps = Steps(prog, notified)
    item = steps.next()
    while item is not None:
        if isinstance(item, Call):
            rows = [(sqlite_tx.run_call(conn, item),)]
        else:
            rows = execute(conn, queries, item, now)
        item = steps.next(rows)
    return steps.value
