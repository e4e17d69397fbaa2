"""Message ids: random (version 4) UUIDs, many from one read of the OS's random source."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

# Byte 6 of a version 4 UUID is 0100xxxx, byte 8 is 10xxxxxx (RFC 9562): both set for
# every id at once with bytes.translate, which a bulk send's thousands of ids make worth it.
_VERSION = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_message_ids(count: int) -> list[str]:
    """Random (version 4) UUIDs, from one read of the OS's random source."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = raw[6::16].translate(_VERSION)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-"
        f"{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


class IdPool:
    """Ids drawn ``size`` at a time by ``draw`` (one read of the random source per fill),
    handed out one by one: for paths that need one id per call, many calls a second.

    Thread-safe (ids are drawn on the event loop and in worker threads); a forked child
    starts empty, so it never hands out ids its parent may also hand out.
    """

    def __init__(self, draw: Callable[[int], list[str]], size: int = 256) -> None:
        self._draw, self._size = draw, size
        self._ids: list[str] = []
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._ids.clear)

    def take(self) -> str:
        """One id, never handed out before."""
        with self._lock:
            if not self._ids:
                self._ids.extend(self._draw(self._size))
            return self._ids.pop()


#: Message ids for one-message sends on hot paths (the front door's queue routes).
MESSAGE_IDS = IdPool(new_message_ids)
