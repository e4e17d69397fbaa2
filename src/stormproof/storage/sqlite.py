"""The embedded SQLite store (the zero set-up default).

WAL mode, ``busy_timeout``, ``BEGIN IMMEDIATE`` and one writer thread with group commit.
``synchronous=NORMAL`` (the default) survives any crash of the process: a transaction
that returned is in the WAL file. Only an operating-system crash or power loss can undo
the last transactions before a checkpoint. ``?synchronous=full`` in the URL syncs the WAL
on every commit, which survives those too, at the cost of one fsync per group commit.

Several processes may share one file (development): each has its own writer thread, and
SQLite's lock serialises their transactions; an idle writer notices other processes'
commits through ``PRAGMA data_version`` and wakes its long-polling receivers (so do two
stores on one file in one process: each has its own connection).

No call waits for ever: each has a deadline (``?deadline=SECONDS``, default 60, longer
than SQLite's 30 s lock wait); a writer thread found dead fails its callers and is
replaced; ``close()`` gives up on a stuck writer after ``SHUTDOWN_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from stormproof.errors import InvalidAttribute, NotOpen, StoreError
from stormproof.storage.program import Dialect, Program
from stormproof.storage.program_store import ProgramStore
from stormproof.storage.sqlite_writer import SqliteWriter

T = TypeVar("T")
log = logging.getLogger("stormproof")
_SYNC_MODES = ("normal", "full")
_PARAMS = ("synchronous", "deadline")
DEFAULT_DEADLINE = 60.0
SHUTDOWN_TIMEOUT = 10.0
_WATCH = 1.0  # how often a waiting call checks that the writer thread is alive


def sqlite_path(url: str) -> tuple[str, str]:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -> (path, synchronous)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.path == "/":
        raise InvalidAttribute(
            "store", url, "sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    path = parts.path[1:]
    sync = _params(url).get("synchronous", ["normal"])[0].lower()
    if sync not in _SYNC_MODES:
        raise InvalidAttribute("store", url, "synchronous=normal or synchronous=full")
    return path, sync.upper()


def sqlite_deadline(url: str) -> float:
    """The per-call deadline in seconds from ``?deadline=`` (default 60)."""
    raw = _params(url).get("deadline", [str(DEFAULT_DEADLINE)])[0]
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise InvalidAttribute("store", url, "deadline=SECONDS with 0 < SECONDS <= 86400")
    return value


def _params(url: str) -> dict[str, list[str]]:
    query = parse_qs(urlsplit(url).query)
    unknown = sorted(set(query) - set(_PARAMS))
    if unknown:
        raise InvalidAttribute("store", url, f"parameters {', '.join(_PARAMS)} (not {unknown[0]})")
    return query


class SqliteStore(ProgramStore):
    """A :class:`~stormproof.storage.base.Store` on one SQLite file."""

    def __init__(self, url: str, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.url = url
        self.dialect = Dialect("sqlite")
        self.path, self.synchronous = sqlite_path(url)
        self.deadline = sqlite_deadline(url)
        self._clock = clock or time.time
        self._writer: SqliteWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """Create the file (and its folder) if missing, and apply migrations."""
        if self._writer is not None:
            return
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"SQLite store {self.path}: cannot create its folder: {exc.strerror or exc}",
                cause="cannot open",
            ) from exc
        self._loop = asyncio.get_running_loop()
        self._writer = await self._start_writer()

    async def _start_writer(self) -> SqliteWriter:
        assert self._loop is not None
        writer = SqliteWriter(self.path, self.synchronous, self._clock, self._loop, self._wake)
        await asyncio.to_thread(writer.start)
        return writer

    async def close(self) -> None:
        """Finish queued work and stop the writer thread (giving up after a timeout)."""
        writer, self._writer = self._writer, None
        if writer is not None and not await asyncio.to_thread(writer.stop, SHUTDOWN_TIMEOUT):
            log.warning(
                "event=sqlite.close_timeout path=%s timeout=%s", self.path, SHUTDOWN_TIMEOUT
            )

    async def _run(self, factory: Callable[[], Program[T]]) -> T:
        writer = self._writer
        if writer is None:
            raise NotOpen("store")
        if not writer.alive:
            writer = await self._replace(writer)
        loop = asyncio.get_running_loop()
        end = loop.time() + self.deadline
        future = writer.submit(factory)
        try:
            while not future.done():
                if loop.time() >= end:
                    raise StoreError(
                        f"SQLite store {self.path}: timeout: no answer within {self.deadline:g} s",
                        cause="timeout",
                    )
                await asyncio.wait([future], timeout=min(end - loop.time(), _WATCH))
                if not future.done() and not writer.alive:
                    # A job the dead thread had taken was failed by it; this one was
                    # still queued, never run, so the new writer may run it.
                    writer = await self._replace(writer)
                    future = writer.submit(factory)
        finally:
            future.cancel()  # no-op once settled; else the late answer is dropped
        result: T = future.result()
        return result

    async def _replace(self, dead: SqliteWriter) -> SqliteWriter:
        """Start a new writer in place of one whose thread ended (once per dead writer)."""
        if self._writer is dead:
            log.error("event=sqlite.writer_replaced path=%s cause=%r", self.path, dead.died)
            self._writer = None
            self._writer = await self._start_writer()
        if self._writer is None:
            raise StoreError(f"SQLite store {self.path}: the writer thread died")
        return self._writer

    async def wait(
        self, queues: Sequence[str], timeout: float, *, since: int | None = None
    ) -> None:
        """Long-poll wait; also wakes on other connections' commits."""
        writer = self._writer
        if writer is None:
            return
        writer.waiters += 1
        if writer.waiters == 1:
            # The thread may be blocked with no timeout (it had no waiter): wake it so it
            # starts polling data_version, or another store's commit goes unnoticed.
            writer.poke()
        try:
            # The cap bounds the cost of a wake-up lost to a cancelled receiver.
            await super().wait(queues, min(timeout, 5.0), since=since)
        finally:
            writer.waiters -= 1
