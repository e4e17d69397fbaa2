"""Idempotent functions on both stores: replay, payload mismatch, in-progress refusal, a
failed call frees its key, and a SIGKILLed holder's record expires with its lease."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.core import idempotency as core
from stormproof.errors import (
    FunctionError,
    IdempotencyInProgress,
    IdempotencyPayloadMismatch,
    InvalidAttribute,
)
from stormproof.testing import FakeClock

IDEM = {"key": "$.detail.booking_id", "expires_after": 60, "payload_validation": "$.detail.amount"}


def _event(booking: str, amount: int = 10) -> dict[str, Any]:
    return {"detail": {"booking_id": booking, "amount": amount}}


def test_bad_options_name_the_field() -> None:
    app = App("i", "sqlite:///unused.db")
    bad: list[tuple[Any, str]] = [
        ({"key": "detail"}, "idempotency.key"),
        ({"key": "$.a", "expires_after": 0}, "idempotency.expires_after"),
        ({"key": "$.a", "ttl": 3}, "idempotency.ttl"),
        ("x", "idempotency"),
    ]
    for spec, field in bad:
        with pytest.raises(InvalidAttribute) as err:
            app.function(name=f"f{len(field)}", idempotency=spec)(lambda e, c: None)
        assert err.value.field == field


def test_decide_is_pure() -> None:
    assert core.decide(None, 0, None) is core.Verdict.RUN
    live = core.in_progress(0, 3, "p", "h")
    assert core.decide(live, 1, "p") is core.Verdict.IN_PROGRESS
    assert core.decide(live, 1, "q") is core.Verdict.MISMATCH
    assert core.decide(live, 4 + core.GRACE, "p") is core.Verdict.RUN  # the dead holder's lease
    cfg = core.config(IDEM)
    assert cfg is not None
    done = core.completed(0, cfg, "p", {"ok": 1})
    assert core.decide(done, 59, "p") is core.Verdict.REPLAY
    assert core.decide(done, 61, "p") is core.Verdict.RUN  # expired


async def test_completed_key_replays_without_running(store_url: str) -> None:
    clock = FakeClock()
    app = App("i", store_url, clock=clock)
    runs: list[str] = []

    @app.function(timeout=3, idempotency=IDEM)
    async def book(event: Any, context: Any) -> dict[str, Any]:
        runs.append(event["detail"].get("booking_id", "-"))
        return {"booked": runs[-1], "n": len(runs)}

    async with app:
        first = await book.invoke(_event("b1"))
        again = await book.invoke(_event("b1"))
        assert again == first == {"booked": "b1", "n": 1}
        assert runs == ["b1"]
        with pytest.raises(IdempotencyPayloadMismatch):
            await book.invoke(_event("b1", amount=99))
        await book.invoke({"detail": {}})  # no key: an ordinary call
        assert len(runs) == 2
        clock.advance(61)  # expired: runs again
        assert (await book.invoke(_event("b1")))["n"] == 3


async def test_failure_frees_the_key_and_duplicates_are_refused_in_progress(
    store_url: str,
) -> None:
    app = App("i", store_url, clock=FakeClock())
    release = asyncio.Event()
    calls = 0

    @app.function(timeout=30, idempotency=IDEM)
    async def book(event: Any, context: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("card declined")
        await release.wait()
        return "ok"

    async with app:
        with pytest.raises(FunctionError):
            await book.invoke(_event("b2"))
        running = asyncio.create_task(book.invoke(_event("b2")))  # retried: runs again
        while calls < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(IdempotencyInProgress):
            await book.invoke(_event("b2"))
        release.set()
        assert await running == "ok"
        assert await book.invoke(_event("b2")) == "ok"
        assert calls == 2


CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from stormproof import App

    app = App("i", sys.argv[1])

    @app.function(name="book", timeout=2, idempotency={"key": "$.id"})
    def book(event, context):
        Path(sys.argv[2]).write_text("started")
        time.sleep(60)

    async def main():
        async with app:
            await book.invoke({"id": "k"})

    asyncio.run(main())
    """
)


async def test_sigkilled_holder_record_expires_with_its_lease(
    store_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", CHILD, store_url, str(marker)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline and child.poll() is None
            await asyncio.sleep(0.05)
        started = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    app = App("i", store_url)
    runs = 0

    @app.function(name="book", timeout=2, idempotency={"key": "$.id"})
    async def book(event: Any, context: Any) -> str:
        nonlocal runs
        runs += 1
        return "done"

    async with app:
        with pytest.raises(IdempotencyInProgress):  # not let through early
            await book.invoke({"id": "k"})
        await asyncio.sleep(max(0.0, started + 2 + core.GRACE + 0.2 - time.monotonic()))
        assert await book.invoke({"id": "k"}) == "done"  # not stuck for ever
        assert runs == 1
