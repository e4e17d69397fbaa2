"""Message ids: random (version 4) UUIDs, many from one read of the OS's random source."""

from __future__ import annotations

import os


def new_message_ids(count: int) -> list[str]:
    """Random (version 4) UUIDs, from one read of the OS's random source."""
    h = os.urandom(16 * count).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{'89ab'[int(h[i + 16], 16) & 3]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]
