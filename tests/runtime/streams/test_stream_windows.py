"""Tumbling windows on both stores: ``state`` carried across one window's invocations per
shard, batches cut at window boundaries, a final invocation per window, and the state
kept in the store with the checkpoint (a worker taking over resumes it)."""

from __future__ import annotations

from typing import Any

from stormproof import App
from stormproof.core import stream_windows as sw
from stormproof.functions.stream_consumer import StreamConsumer
from stormproof.testing import FakeClock
from tests.runtime.streams.test_stream_mapping import _drain

WINDOW = 60
# The window the clock's start opens: the minute from 2026-01-01T00:00:00Z.
FIRST_WINDOW = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z"}


async def test_state_flows_through_a_window_then_a_final_invocation(store_url: str) -> None:
    clock = FakeClock(start=1_767_225_600.0)  # a minute boundary
    app = App("t", store_url, clock=clock)
    stream = app.stream("s")
    events: list[dict[str, Any]] = []

    @app.function(timeout=30)
    async def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"state": {"n": event["state"].get("n", 0) + len(event["Records"])}}

    mapping = app.consume(stream, count, batch_size=4, tumbling_window=WINDOW)
    async with app:
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(5)])
        clock.advance(10)
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(3)])
        first = StreamConsumer(app, mapping)
        await _drain(first)
        assert [e["state"] for e in events] == [{}, {"n": 4}]
        assert not any(e["isFinalInvokeForWindow"] for e in events)
        assert events[0]["window"] == FIRST_WINDOW
        assert events[0]["shardId"] == "shardId-000000000000"
        # ``first`` dies holding the shard; ``second`` takes it over inside the window and
        # resumes the stored state.
        clock.advance(31)
        await stream.put_record(b"late", "k")
        second = StreamConsumer(app, mapping)
        await _drain(second)
        assert events[-1]["state"] == {"n": 8} and len(events[-1]["Records"]) == 1
        clock.advance(WINDOW)  # the window is over
        await _drain(second)
        final = events[-1]
        assert final["isFinalInvokeForWindow"] and final["Records"] == []
        assert final["state"] == {"n": 9} and not final["isWindowTerminatedEarly"]
        await stream.put_record(b"next", "k")
        await _drain(second)
        assert (
            events[-1]["state"] == {} and events[-1]["window"]["start"] != final["window"]["start"]
        )


async def test_a_batch_never_spans_two_windows(store_url: str) -> None:
    clock = FakeClock(start=1_767_225_600.0)
    app = App("t", store_url, clock=clock)
    stream = app.stream("s")
    events: list[dict[str, Any]] = []

    @app.function(timeout=30)
    async def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"state": {"n": event["state"].get("n", 0) + len(event["Records"])}}

    mapping = app.consume(stream, count, batch_size=100, tumbling_window=WINDOW)
    async with app:
        await stream.put_records([{"data": "a", "partition_key": "k"}] * 2)
        clock.advance(WINDOW)
        await stream.put_records([{"data": "b", "partition_key": "k"}] * 3)
        await _drain(StreamConsumer(app, mapping))
    shape = [(len(e["Records"]), e["isFinalInvokeForWindow"], e["state"]) for e in events]
    assert shape == [(2, False, {}), (0, True, {"n": 2}), (3, False, {})]


def test_window_rules() -> None:
    assert sw.window_start(125.0, 60) == 120.0
    assert sw.same_window([120, 150, 179.9, 180, 181], 60) == 3
    assert not sw.closing(None, 60, None, 1000, False)
    assert sw.closing(0, 60, None, 60, False) and not sw.closing(0, 60, 59.0, 60, False)
    assert sw.closing(0, 60, 5.0, 1, True)
    assert sw.returned_state({"state": {"a": 1}}) == {"a": 1}
    assert sw.returned_state(None) == {} and sw.returned_state({"state": 3}) == {}
    assert sw.too_big({"x": "y" * sw.MAX_STATE_BYTES}) and not sw.too_big({"x": 1})
