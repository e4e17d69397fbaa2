"""Misuse and failed lookups raise StormproofError subclasses with fields, which are also
the builtin exceptions callers caught before (RuntimeError, LookupError, TypeError)."""

from __future__ import annotations

import pytest

from stormproof import App, Worker
from stormproof.bus.replays import Replay
from stormproof.errors import (
    AppNotOpen,
    FunctionNotFound,
    InvalidAttribute,
    InvalidHandler,
    ReplayNotFound,
    StormproofError,
    SyncInsideEventLoop,
)
from stormproof.functions.runners import ProcessRunner
from stormproof.testing import FakeClock


def test_a_closed_app_has_no_store() -> None:
    app = App("closed", "sqlite:///:memory:")
    with pytest.raises(AppNotOpen) as info:
        app.store  # noqa: B018 - the property raises
    assert isinstance(info.value, RuntimeError) and info.value.what == "app"


async def test_unknown_function_and_replay_name_what_was_looked_up(store_url: str) -> None:
    app = App("lookups", store_url)
    app.bus("default")
    async with app:
        with pytest.raises(FunctionNotFound) as fn:
            app.functions.get("nope")
        assert isinstance(fn.value, LookupError) and fn.value.name == "nope"
        with pytest.raises(ReplayNotFound) as replay:
            await Replay(app.buses.replays, "gone").status()
        assert isinstance(replay.value, LookupError) and replay.value.name == "gone"
        with pytest.raises(ReplayNotFound):
            await app.buses.replays.cancel("gone")


async def test_sync_methods_inside_an_event_loop_are_refused() -> None:
    app = App("sync", "sqlite:///:memory:")

    async def nothing() -> None:
        return None

    with pytest.raises(SyncInsideEventLoop) as info:
        app.run_sync(nothing())
    assert isinstance(info.value, RuntimeError)


def test_worker_concurrency_and_fake_clock_name_the_field() -> None:
    with pytest.raises(InvalidAttribute) as worker:
        Worker(App("w", "sqlite:///:memory:"), concurrency=0)
    assert (worker.value.field, worker.value.value) == ("concurrency", 0)
    with pytest.raises(InvalidAttribute) as clock:
        FakeClock().advance(-1)
    assert clock.value.field == "seconds" and isinstance(clock.value, ValueError)


def test_an_async_handler_cannot_run_in_a_process() -> None:
    async def handler(event: object, context: object) -> None:
        return None

    with pytest.raises(InvalidHandler) as info:
        ProcessRunner(handler, 1, "f")
    assert isinstance(info.value, TypeError) and isinstance(info.value, StormproofError)
    assert info.value.field == "isolation"
