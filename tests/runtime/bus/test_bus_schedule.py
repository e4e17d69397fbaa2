"""Scheduled rules are durable timers: each tick fires once across processes."""

from __future__ import annotations

import json

from stormproof import App, Target
from stormproof.testing import FakeClock

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a multiple of five minutes


def _app(store_url: str, clock: FakeClock, schedule: str = "rate(5 minutes)") -> App:
    app = App("sched", store_url, clock=clock, consume=True)
    app.buses.background = False
    ticks = app.queue("ticks")
    app.bus("default").rule("every-5", schedule=schedule, targets=[Target(ticks)])
    return app


async def test_each_tick_fires_once_across_two_processes(store_url: str) -> None:
    clock = FakeClock(START + 1)
    first, second = _app(store_url, clock), _app(store_url, clock)
    async with first, second:
        for _ in range(3):
            clock.advance(300)
            await second.buses.run_once()
            await first.buses.run_once()
        messages = await (await first.get_queue("ticks")).receive(10)
        events = sorted((json.loads(m.body) for m in messages), key=lambda e: e["time"])
        assert [e["time"] for e in events] == [
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:10:00Z",
            "2026-01-01T00:15:00Z",
        ]
        assert all(e["source"] == "aws.events" for e in events)
        assert events[0]["detail-type"] == "Scheduled Event"
        assert events[0]["resources"] == ["stormproof:events:rule/default/every-5"]


async def test_missed_ticks_fire_once_late_and_a_changed_schedule_replaces_the_timer(
    store_url: str,
) -> None:
    clock = FakeClock(START + 1)
    app = _app(store_url, clock)
    async with app:
        clock.advance(3600)  # nobody ran for an hour: one late tick, not twelve
        await app.buses.drain()
        ticks = await app.get_queue("ticks")
        assert (await ticks.stats()).total == 1
        app.bus("default").rule("every-5", schedule="rate(1 hour)", targets=[Target(ticks)])
        await app.buses.run_once()  # syncs the new definition
        clock.advance(600)
        await app.buses.drain()
        assert (await ticks.stats()).total == 1  # the old 5-minute timer is retired
        clock.advance(3600)
        await app.buses.drain()
        assert (await ticks.stats()).total == 2


async def test_a_disabled_rule_keeps_time_without_firing(store_url: str) -> None:
    clock = FakeClock(START + 1)
    app = App("sched", store_url, clock=clock, consume=True)
    app.buses.background = False
    ticks = app.queue("ticks")
    app.bus("default").rule(
        "r", schedule="cron(0/5 * * * ? *)", targets=[Target(ticks)], enabled=False
    )
    async with app:
        clock.advance(300)
        await app.buses.drain()
        assert (await ticks.stats()).total == 0
        app.bus("default").rule("r", schedule="cron(0/5 * * * ? *)", targets=[Target(ticks)])
        await app.buses.run_once()
        clock.advance(300)
        await app.buses.drain()
        assert (await ticks.stats()).total == 1
