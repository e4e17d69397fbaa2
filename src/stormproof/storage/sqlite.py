"""The embedded SQLite store (the zero set-up default).

WAL mode, ``busy_timeout``, ``BEGIN IMMEDIATE`` and one writer thread with group commit.
``synchronous=NORMAL`` (the default) survives any crash of the process: a transaction
that returned is in the WAL file. Only an operating-system crash or power loss can undo
the last transactions before a checkpoint. ``?synchronous=full`` in the URL syncs the WAL
on every commit, which survives those too, at the cost of one fsync per group commit.

Several processes may share one file (development): each has its own writer thread, and
SQLite's lock serialises their transactions; an idle writer notices other processes'
commits through ``PRAGMA data_version`` and wakes its long-polling receivers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from stormproof.errors import InvalidAttribute
from stormproof.storage.program import Dialect, Program
from stormproof.storage.program_store import ProgramStore
from stormproof.storage.sqlite_writer import SqliteWriter

T = TypeVar("T")
_SYNC_MODES = ("normal", "full")


def sqlite_path(url: str) -> tuple[str, str]:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -> (path, synchronous)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.path == "/":
        raise InvalidAttribute(
            "store", url, "sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    path = parts.path[1:]
    sync = parse_qs(parts.query).get("synchronous", ["normal"])[0].lower()
    if sync not in _SYNC_MODES:
        raise InvalidAttribute("store", url, "synchronous=normal or synchronous=full")
    return path, sync.upper()


class SqliteStore(ProgramStore):
    """A :class:`~stormproof.storage.base.Store` on one SQLite file."""

    def __init__(self, url: str, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.url = url
        self.dialect = Dialect("sqlite")
        self.path, self.synchronous = sqlite_path(url)
        self._clock = clock or time.time
        self._writer: SqliteWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """Create the file (and its folder) if missing, and apply migrations."""
        if self._writer is not None:
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        writer = SqliteWriter(self.path, self.synchronous, self._clock, self._loop, self._wake)
        await asyncio.to_thread(writer.start)
        self._writer = writer

    async def close(self) -> None:
        """Finish queued work and stop the writer thread."""
        writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.to_thread(writer.stop)

    async def _run(self, factory: Callable[[], Program[T]]) -> T:
        if self._writer is None:
            raise RuntimeError("the store is not open")
        result: T = await self._writer.submit(factory)
        return result

    async def wait(self, queues: Sequence[str], timeout: float) -> None:
        """Long-poll wait; also wakes on other processes' commits."""
        writer = self._writer
        if writer is None:
            return
        writer.waiters += 1
        try:
            # The cap bounds the cost of a wake-up lost to a cancelled receiver.
            await super().wait(queues, min(timeout, 5.0))
        finally:
            writer.waiters -= 1
