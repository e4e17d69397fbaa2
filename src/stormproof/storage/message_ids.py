"""Message ids: random (version 4) UUIDs, many from one read of the OS's random source."""

from __future__ import annotations

import os

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
