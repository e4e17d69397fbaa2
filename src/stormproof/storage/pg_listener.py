"""LISTEN on one dedicated connection per process, reconnecting with backoff."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql as pgsql

_BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Listener:
    """Delivers NOTIFY payloads (``"<count> <queue>"``) to ``on_notify`` on the event loop.

    While it is reconnecting ``healthy`` is False and waiters fall back to short polls;
    after a reconnect every waiter is woken, since notifications may have been missed.
    """

    def __init__(
        self, dsn: str, channel: str, on_notify: Callable[[dict[str, int] | None], None]
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.healthy = False

    async def start(self) -> None:
        """Start listening; returns once the first LISTEN is in place (or failed once)."""
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._loop(ready), name="stormproof-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self, ready: asyncio.Event) -> None:
        attempt = 0
        while True:
            try:
                await self._listen(ready)
            except (psycopg.Error, OSError):
                pass
            self.healthy = False
            ready.set()
            await asyncio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
            attempt += 1

    async def _listen(self, ready: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        async with conn:
            await conn.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(self._channel)))
            self.healthy = True
            ready.set()
            self._on_notify(None)
            async for note in conn.notifies():
                count, _, queue = note.payload.partition(" ")
                self._on_notify({queue: int(count)} if count.isdigit() else None)
