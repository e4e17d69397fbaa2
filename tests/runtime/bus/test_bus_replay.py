"""Archive and replay: a replay re-delivers exactly the archived events of the window that
match the selected rules, marked with ``replay-name``, and is not archived again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from stormproof import App, Target
from stormproof.bus.archive import MAX_ACTIVE
from stormproof.errors import InvalidAttribute

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC).timestamp()


def _at(minutes: int) -> str:
    return datetime.fromtimestamp(T0 + 60 * minutes, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _setup(store_url: str) -> App:
    app = App("replay", store_url, consume=True)
    app.buses.background = False
    orders, payments = app.queue("orders"), app.queue("payments")
    bus = app.bus("default")
    bus.rule("orders", pattern={"detail-type": ["order"]}, targets=[Target(orders)])
    bus.rule("payments", pattern={"detail-type": ["payment"]}, targets=[Target(payments)])
    bus.archive("all", retention=86400)
    return app


async def _publish(app: App) -> None:
    entries = [
        {"source": "shop", "detail_type": kind, "detail": {"n": n}, "time": _at(n)}
        for n in range(20)
        for kind in ("order", "payment")
    ]
    for i in range(0, len(entries), 10):
        assert (await app.bus("default").put_events(entries[i : i + 10])).failed_entry_count == 0


async def test_replay_redelivers_exactly_the_window_and_the_selected_rules(
    store_url: str,
) -> None:
    app = await _setup(store_url)
    async with app:
        await _publish(app)
        orders, payments = await app.get_queue("orders"), await app.get_queue("payments")
        await orders.purge()
        await payments.purge()
        bus = app.bus("default")
        replay = await bus.start_replay(
            "all", start=T0 + 5 * 60, end=T0 + 10 * 60, rules=["orders"], name="fix-1"
        )
        status = await replay.wait(30)
        assert (status.state, status.total, status.replayed) == ("COMPLETED", 10, 10)
        assert status.event_last_replayed_time == T0 + 9 * 60
        got = []
        while batch := await orders.receive(10):
            got += [json.loads(m.body) for m in batch]
            for m in batch:
                await orders.delete(m.receipt_handle)
        assert sorted(e["detail"]["n"] for e in got) == [5, 6, 7, 8, 9]  # orders only
        assert all(e["replay-name"] == "fix-1" for e in got)
        assert (await payments.stats()).total == 0
        assert (await app.buses.archive_stats())["all"][0] == 40  # not archived again


async def test_replay_validation_limit_and_cancel(store_url: str) -> None:
    app = await _setup(store_url)
    async with app:
        await _publish(app)
        bus = app.bus("default")
        for kwargs, field in [
            ({"archive": "nope"}, "archive"),
            ({"end": T0 - 1}, "end"),
            ({"rules": ["nope"]}, "rules"),
            ({"name": "bad name"}, "name"),
        ]:
            args = {"archive": "all", "start": T0, "end": T0 + 3600, **kwargs}
            with pytest.raises(InvalidAttribute) as info:
                await bus.start_replay(**args)  # type: ignore[arg-type]
            assert info.value.field == field
        # Left to other processes (nobody runs them here), so they stay active.
        app.buses.replays.autorun = False
        replays = [await bus.start_replay("all", T0, T0 + 3600) for _ in range(MAX_ACTIVE)]
        assert {(await r.status()).state for r in replays} == {"RUNNING"}
        with pytest.raises(InvalidAttribute) as info:
            await bus.start_replay("all", T0, T0 + 3600)
        assert info.value.field == "replay"
        for replay in replays[1:]:
            assert (await replay.cancel()).state == "CANCELLED"
        app.buses.replays.autorun = True
        assert await app.buses.replays.resume_orphans() == 1  # taken over and run here
        assert (await replays[0].wait(30)).state == "COMPLETED"
        with pytest.raises(InvalidAttribute):
            await bus.start_replay("all", T0, T0 + 3600, name=replays[0].name)
        await (await bus.start_replay("all", T0, T0 + 3600)).wait(30)


async def test_archive_retention_expires_old_events(store_url: str) -> None:
    from stormproof.testing import FakeClock

    clock = FakeClock()
    app = App("retention", store_url, clock=clock, consume=True)
    app.buses.background = False
    app.bus("default").archive("short", retention=3600)
    async with app:
        await app.bus("default").put_events([{"source": "s", "detail_type": "d", "detail": {}}])
        clock.advance(3601)
        assert await app.buses.expire_archives() == 1
