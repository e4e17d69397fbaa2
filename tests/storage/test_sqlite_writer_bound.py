"""The SQLite writer's queue of units is bounded (issue 14, "every in-memory buffer is
bounded"): with the writer thread busy, sends past ``max_pending`` are refused at once
with ``Throttled`` and a retry-after, and every send accepted before is committed."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import Throttled
from stormproof.storage.program import Program
from stormproof.storage.sqlite_writer import SqliteWriter

BOUND = 16
SENDS = 100


def _blocker(release: threading.Event) -> Program[None]:
    release.wait(10)  # runs on the writer thread: it holds the thread until released
    return
    yield  # a program is a generator


async def test_sends_past_the_bound_are_throttled_and_nothing_accepted_is_lost(
    tmp_path: Path,
) -> None:
    app = App("bound", f"sqlite:///{tmp_path}/bound.db")
    orders = app.queue("orders")
    async with app:
        await orders.send("warm-up")  # the queue exists before the thread is held
        writer: Any = app.store._writer  # type: ignore[attr-defined]
        assert isinstance(writer, SqliteWriter)
        writer.max_pending = BOUND
        release = threading.Event()
        held = writer.submit(lambda: _blocker(release))
        sends = [asyncio.create_task(orders.send(f"m{i}")) for i in range(SENDS)]
        await asyncio.sleep(0.2)  # every send has reached submit by now
        release.set()
        results = await asyncio.gather(*sends, return_exceptions=True)
        await held
        refused = [r for r in results if isinstance(r, Throttled)]
        accepted = {f"m{i}" for i, r in enumerate(results) if not isinstance(r, BaseException)}
        assert len(refused) + len(accepted) == SENDS, results
        # The blocker (and any of the app's own background writes) hold places too.
        assert 1 <= len(accepted) <= BOUND - 1, len(accepted)
        assert all(r.retry_after and r.retry_after > 0 for r in refused)
        assert "max_pending=16" in str(refused[0])
        bodies: set[str] = set()
        while got := await orders.receive(max_messages=10):
            bodies |= {m.body for m in got}
            for m in got:
                await orders.delete(m.receipt_handle)
        assert bodies == accepted | {"warm-up"}  # every accepted send committed, no other


def test_max_pending_is_validated() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match=r"max_pending=0.*1\.\.1000000"):
            SqliteWriter("x.db", "NORMAL", lambda: 0.0, loop, lambda _: None, max_pending=0)
    finally:
        loop.close()
