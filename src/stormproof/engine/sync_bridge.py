"""Calling an app's coroutines from code outside asyncio (``send_sync``, ``put_events_sync``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from stormproof.errors import SyncInsideEventLoop

T = TypeVar("T")


class SyncBridge:
    """Runs coroutines on the loop the app was opened on (from another thread), or else on
    a loop thread of its own, which opens the app on first use and closes it in ``close``.
    """

    def __init__(
        self,
        open_app: Callable[[], Coroutine[Any, Any, None]],
        close_app: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._open_app = open_app
        self._close_app = close_app
        self.loop: asyncio.AbstractEventLoop | None = None  # set by App.open
        self._thread: threading.Thread | None = None

    def run(self, coro: Coroutine[Any, Any, T], app_is_open: bool) -> T:
        """Run ``coro`` to completion and return its result."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise SyncInsideEventLoop
        if not app_is_open or self.loop is None:
            self._start_thread()
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def _start_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="stormproof-app", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_app(), loop).result()

    def close(self) -> None:
        """Close an app opened by ``run`` and stop its loop thread."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_app(), loop).result()
        self.loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
