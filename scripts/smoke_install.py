"""What a fresh install must do: import stormproof, send and receive on SQLite.

Run by scripts/check-install in a venv holding only ``pip install .`` (no extras) and by
tests/acceptance/test_install.py with the extras' modules hidden.
Usage: python smoke_install.py DIRECTORY
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import stormproof


async def _send_and_receive(store: str) -> None:
    async with stormproof.App("smoke", store) as app:
        queue = await app.create_queue("smoke")
        await queue.send("hello")
        [message] = await queue.receive(1)
        assert message.body == "hello", message.body
        await queue.delete(message.receipt_handle)


def main() -> None:
    """Send and receive one message on a SQLite file in the given directory."""
    directory = Path(sys.argv[1])
    asyncio.run(_send_and_receive(f"sqlite:///{directory / 'smoke.db'}"))
    print(f"stormproof {stormproof.__version__}: sqlite send/receive ok")


if __name__ == "__main__":
    main()
