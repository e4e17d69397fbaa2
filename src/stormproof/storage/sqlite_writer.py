"""The SQLite writer: one thread, one connection, group commit.

Callers on the event loop submit programs; the thread takes every unit of work queued
so far, runs each inside its own SAVEPOINT of one ``BEGIN IMMEDIATE`` transaction and
commits them together, so a burst of small writes costs one fsync-bounded commit. A unit
that raises is rolled back to its savepoint without sinking the others.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stormproof.errors import StoreError
from stormproof.storage import sqlfiles
from stormproof.storage.program import Notify, Program, Row, Stmt

_MAX_GROUP = 512
_IDLE_POLL = 0.02  # how often an idle writer looks for other processes' commits


@dataclass
class _Job:
    factory: Callable[[], Program[Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class SqliteWriter:
    """Owns the connection thread; see the module docstring."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        clock: Callable[[], float],
        loop: asyncio.AbstractEventLoop,
        wake: Callable[[dict[str, int] | None], None],
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._clock = clock
        self._loop = loop
        self._wake = wake  # runs on the event loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._queries = sqlfiles.queries("sqlite")
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.waiters = 0  # read by the thread: poll for other processes only when needed

    def start(self) -> None:
        """Open the connection on the writer thread and apply migrations."""
        self._thread = threading.Thread(target=self._run, name="stormproof-sqlite", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise StoreError(f"cannot open {self._path}: {self._startup_error}")

    def stop(self) -> None:
        """Finish queued work, then close."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, factory: Callable[[], Program[Any]]) -> asyncio.Future[Any]:
        """Queue a program; the future resolves after its transaction commits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put(_Job(factory, loop, future))
        return future

    # --- the thread ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=OFF")
        migrate(conn)
        return conn

    def _run(self) -> None:
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=_IDLE_POLL if self.waiters else None)
                except queue.Empty:
                    version = self._poll_other_processes(conn, version)
                    continue
                if job is None:
                    return
                batch = [job]
                while len(batch) < _MAX_GROUP:
                    try:
                        nxt = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._jobs.put(None)
                        break
                    batch.append(nxt)
                self._commit_group(conn, batch)
        finally:
            conn.close()

    def _poll_other_processes(self, conn: sqlite3.Connection, version: int) -> int:
        # data_version changes only for commits by *other* connections: other processes.
        current = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if current != version and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake, None)
        return current

    def _commit_group(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        notified: dict[str, int] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = StoreError(f"cannot begin a transaction: {exc}")
            self._deliver(batch, [(False, error)] * len(batch), {})
            return
        # A lone unit needs no savepoint: on failure the whole transaction rolls back.
        alone = len(batch) == 1
        outcomes = [self._run_unit(conn, job, notified, savepoint=not alone) for job in batch]
        if alone and not outcomes[0][0]:
            conn.execute("ROLLBACK")
            self._deliver(batch, outcomes, {})
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            outcomes = [(False, StoreError(f"commit failed: {exc}"))] * len(batch)
            notified = {}
        self._deliver(batch, outcomes, notified)

    def _deliver(
        self, batch: list[_Job], outcomes: list[tuple[bool, Any]], notified: dict[str, int]
    ) -> None:
        # One hand-off to the event loop per group: results first, then the wake-ups.
        def settle() -> None:
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                _settle(job.future, ok, value)
            if notified:
                self._wake(notified)

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
            if savepoint:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            err = StoreError(str(exc)) if isinstance(exc, sqlite3.Error) else exc
            return False, err
        if savepoint:
            conn.execute("RELEASE unit")
        for name, count in mine.items():
            notified[name] = notified.get(name, 0) + count
        return True, value


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _bind(params: Any, now: float) -> dict[str, Any]:
    out = {k: json.dumps(v) if isinstance(v, list | tuple) else v for k, v in params.items()}
    out["now"] = now
    return out


def execute(conn: sqlite3.Connection, sql: str, stmt: Stmt, now: float) -> list[Row]:
    """Run one statement; rows, or ``[(rowcount,)]`` when it returns none."""
    if stmt.many:
        cur = conn.executemany(sql, [_bind(p, now) for p in stmt.batch()])
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
    try:
        item = next(prog)
        while True:
            if isinstance(item, Notify):
                notified[item.queue] = notified.get(item.queue, 0) + item.count
                rows: list[Row] = []
            else:
                rows = execute(conn, queries[item.name], item, now)
            item = prog.send(rows)
    except StopIteration as stop:
        return stop.value


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending numbered migrations in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, script in sqlfiles.migrations("sqlite"):
            if version in done:
                continue
            for statement in sqlfiles.statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
