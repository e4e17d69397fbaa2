"""Periodic background work that stops cooperatively.

Cancelling a task in the middle of a database call is unreliable: a driver may turn the
cancellation into its own error and the request is lost. A :class:`Periodic` loop is
stopped by a flag it checks between runs, and waits on an interruptible sleep;
cancellation is only the fallback when a run overstays ``stop``'s grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from stormproof.clock import Clock
from stormproof.engine.waiting import first_of
from stormproof.errors import StoreError, StormproofError

log = logging.getLogger("stormproof")


class Periodic:
    """Run ``action`` every ``interval`` seconds of ``clock`` until stopped."""

    def __init__(
        self, name: str, action: Callable[[], Awaitable[object]], interval: float, clock: Clock
    ) -> None:
        self.name = name
        self._action = action
        self._interval = interval
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace: float = 10.0) -> None:
        """Ask the loop to end after its current run; cancel it if that takes too long."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait([task], timeout=grace)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._action()
            except StoreError as exc:
                # The store's message says it all (disk full, read-only, unreachable): a
                # traceback would bury it, and the caller's own call reports it too.
                log.warning("event=background.failed task=%s error=%s", self.name, exc)
            except StormproofError:
                log.exception("event=background.failed task=%s", self.name)
            await self._nap()

    async def _nap(self) -> None:
        await first_of(self._stopping.wait(), self._clock.sleep(self._interval))
