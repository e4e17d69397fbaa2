"""Other processes' commits to a SQLite file, noticed as they happen (Linux, inotify).

SQLite has no NOTIFY: an idle writer thread learns of another process's commit by polling
``PRAGMA data_version`` every 20 ms, so a message sent by a web process reached an idle
worker 10 ms later on average, 20 ms and more at the tail. A commit in WAL mode writes the
``-wal`` file; this watch reads the kernel's notice of that write and pokes the writer,
which then polls at once. The polling stays as the fallback (no inotify, the watch lost,
another platform), so the watch only ever makes a wake-up earlier, never needed.

The folder is watched, not the file: the ``-wal`` file is created by the first connection
and may be removed by the last one, and a watch on the folder survives both.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("stormproof")
# A committer updates the WAL index (shared memory: no inotify event) just after its last
# write to the WAL, so a poll at the write can miss the commit: look again once the writes
# have paused this long, or that commit would wait for the next 20 ms poll.
SETTLE_MS = 2


def _inotify() -> Any:
    try:
        import inotify_simple
    except ImportError:  # not Linux, or installed without it: data_version polling only
        return None
    return inotify_simple


class WalWatch:
    """Calls ``notice`` (on its own thread) after writes to ``path``'s ``-wal`` file."""

    def __init__(self, path: str, notice: Callable[[], None]) -> None:
        full = os.path.abspath(path)
        self._folder, self._name = os.path.dirname(full), os.path.basename(full) + "-wal"
        self._notice = notice
        self._thread: threading.Thread | None = None
        self._stop_w: int | None = None  # written by ``stop``: the thread ends at once

    def start(self) -> bool:
        """Begin watching; False (and nothing started) where it cannot."""
        inotify = _inotify()
        if inotify is None or not os.path.isdir(self._folder):
            return False
        try:
            handle = inotify.INotify()
            flags = inotify.flags
            handle.add_watch(self._folder, flags.MODIFY | flags.CREATE | flags.MOVED_TO)
        except OSError as exc:  # e.g. the per-user watch limit: polling still works
            log.info("event=sqlite.watch_unavailable path=%s error=%r", self._folder, exc)
            return False
        stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(
            target=self._run, args=(handle, stop_r), name="stormproof-sqlite-watch", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """End the thread and close its descriptors."""
        thread, self._thread = self._thread, None
        stop_w, self._stop_w = self._stop_w, None
        if thread is None or stop_w is None:
            return
        os.write(stop_w, b"x")
        thread.join(1.0)
        os.close(stop_w)

    def _touched(self, events: list[Any]) -> bool:
        return any(event.name == self._name for event in events)

    def _run(self, handle: Any, stop_r: int) -> None:
        poller = select.poll()
        poller.register(handle.fileno(), select.POLLIN)
        poller.register(stop_r, select.POLLIN)
        try:
            while not self._stopping(poller, stop_r, None):
                events = handle.read(timeout=0)
                while self._touched(events):
                    self._notice()
                    if self._stopping(poller, stop_r, SETTLE_MS):
                        return
                    events = handle.read(timeout=0)
                    if not self._touched(events):  # the writes paused: the settle look
                        self._notice()
        except (OSError, ValueError) as exc:  # the watch is gone: polling remains
            log.info("event=sqlite.watch_ended path=%s error=%r", self._folder, exc)
        finally:
            handle.close()
            os.close(stop_r)

    @staticmethod
    def _stopping(poller: select.poll, stop_r: int, timeout_ms: int | None) -> bool:
        """Wait for a notice or ``stop`` (at most ``timeout_ms``); True once stopped."""
        return any(fd == stop_r for fd, _ in poller.poll(timeout_ms))
