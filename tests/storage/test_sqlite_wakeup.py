"""A long poll on SQLite is woken by a send from another store on the same file.

Two ``App`` instances in one process each have their own SQLite writer; a send through
one must wake a ``receive(wait=5)`` waiting in the other promptly, every time (before
the fix the idle writer was not polling ``data_version`` and slept out the wait).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from stormproof import App

ROUNDS = 20
PROMPT = 1.0  # seconds; the wait is 5 s, so a missed wake-up cannot pass


async def test_send_in_one_app_wakes_a_long_poll_in_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    receiver_app, sender_app = App("a", url), App("b", url)
    inbox = receiver_app.queue("work")
    outbox = sender_app.queue("work")
    async with receiver_app, sender_app:
        for i in range(ROUNDS):
            poll = asyncio.create_task(inbox.receive(wait=5))
            await asyncio.sleep(0.05 + 0.01 * (i % 5))  # the receiver is waiting by now
            sent_at = time.monotonic()
            await outbox.send(f"m{i}")
            got = await asyncio.wait_for(poll, timeout=6)
            late = time.monotonic() - sent_at
            assert [m.body for m in got] == [f"m{i}"], f"round {i}: woken empty"
            assert late < PROMPT, f"round {i}: woken {late:.2f} s after the send"
            await inbox.delete(got[0].receipt_handle)
