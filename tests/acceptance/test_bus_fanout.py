"""The real run, on both stores: events fanned out to three HTTP targets on loopback, one
failing 30 % of deliveries with 503 and one down for a while. Every event reaches the
healthy target, retried deliveries arrive, exhausted ones are in the DLQs with their
attributes, nothing is lost. The soak version (10,000 events, a one-minute outage, the
default policy) is marked ``soak``."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from stormproof import App, Queue, Target
from stormproof.bus.publish import delivery_queue
from tests.runtime.bus_server import HttpServer, Request


async def _drain_dlq(queue: Queue) -> dict[str, dict[str, Any]]:
    """Every DLQ message by event id, with its attributes (deleted as read)."""
    out: dict[str, dict[str, Any]] = {}
    while batch := await queue.receive(10):
        for msg in batch:
            out[msg.json()["id"]] = msg.attributes
            await queue.delete(msg.receipt_handle)
    return out


def _ids(requests: list[Request]) -> set[str]:
    return {r.headers["x-stormproof-event-id"] for r in requests}


async def _run(
    store_url: str, events: int, outage: float, retries: int | None, deadline: float
) -> dict[str, Any]:
    rng = random.Random(42)
    healthy = await HttpServer().up()
    flaky = await HttpServer(status=lambda _: 503 if rng.random() < 0.3 else 200).up()
    down = await HttpServer().up()
    await down.down()
    app = App("fanout", store_url, consume=True)
    dlqs = {name: app.queue(f"dlq-{name}") for name in ("healthy", "flaky", "down")}
    policy = {} if retries is None else {"max_retry_attempts": retries}
    targets = [
        Target(app.http_target(srv.url, name=name), dead_letter=dlqs[name], id=name, **policy)
        for name, srv in (("healthy", healthy), ("flaky", flaky), ("down", down))
    ]
    app.bus("default").rule("all", pattern={"source": ["load"]}, targets=targets)
    started = time.monotonic()
    try:
        async with app:
            restore = asyncio.get_running_loop().call_later(
                outage, lambda: asyncio.ensure_future(down.up())
            )
            published = await _publish(app, events)
            dead = {name: {} for name in dlqs} | {}
            while time.monotonic() - started < deadline:
                counts = await app.store.counts(delivery_queue("default"))
                if counts.visible + counts.in_flight + counts.delayed == 0:
                    break
                await asyncio.sleep(0.25)
            elapsed = time.monotonic() - started
            restore.cancel()
            dead = {name: await _drain_dlq(q) for name, q in dlqs.items()}
    finally:
        for srv in (healthy, flaky, down):
            await srv.down()
    return {
        "published": published,
        "dead": dead,
        "elapsed": elapsed,
        "servers": {"healthy": healthy, "flaky": flaky, "down": down},
    }


async def _publish(app: App, events: int) -> set[str]:
    bus = app.bus("default")
    ids: set[str] = set()

    async def batch(first: int) -> None:
        entries = [
            {"source": "load", "detail_type": "tick", "detail": {"n": n}}
            for n in range(first, min(first + 10, events))
        ]
        result = await bus.put_events(entries)
        assert result.failed_entry_count == 0
        ids.update(str(e.event_id) for e in result.entries)

    for start in range(0, events, 100):
        await asyncio.gather(*(batch(n) for n in range(start, min(start + 100, events), 10)))
    return ids


def _check(outcome: dict[str, Any], retries: int | None) -> None:
    published, dead, servers = outcome["published"], outcome["dead"], outcome["servers"]
    assert _ids(servers["healthy"].received) == published
    assert not dead["healthy"]
    for name in ("flaky", "down"):
        delivered = _ids(servers[name].received)
        assert delivered | set(dead[name]) == published, f"{name}: events lost"
        assert not delivered & set(dead[name]), f"{name}: delivered and dead-lettered"
        for attributes in dead[name].values():
            assert attributes["TARGET_ARN"] == f"stormproof:http:{name}"
            assert attributes["RULE_ARN"] == "stormproof:events:rule/default/all"
            assert attributes["EXHAUSTED_RETRY_CONDITION"] in (
                "MaximumRetryAttempts",
                "MaximumEventAgeInSeconds",
            )
            if retries is not None:
                assert attributes["RETRY_ATTEMPTS"] == str(retries)
    flaky_dead = dead["flaky"].values()
    assert all(a["ERROR_CODE"] == "SERVER_ERROR" for a in flaky_dead)
    assert all(a["ERROR_CODE"] == "TIMEOUT" for a in dead["down"].values())
    # Retried deliveries arrive: events first refused with a 503 that got through later.
    refused = {r.headers["x-stormproof-event-id"] for r, c in servers["flaky"].answered if c == 503}
    assert refused & _ids(servers["flaky"].received)
    assert servers["down"].received, "nothing reached the target after its outage"


async def test_thousand_events_three_targets_with_failures(store_url: str) -> None:
    outcome = await _run(store_url, events=1000, outage=5.0, retries=3, deadline=45)
    _check(outcome, retries=3)
    assert outcome["dead"]["flaky"], "with 30 % failures and 3 retries a few are exhausted"
    print(
        f"\n1,000 events x 3 targets delivered in {outcome['elapsed']:.1f} s; dead-lettered: "
        f"flaky={len(outcome['dead']['flaky'])} down={len(outcome['dead']['down'])}"
    )


@pytest.mark.soak
@pytest.mark.timeout(900)
async def test_soak_ten_thousand_events_one_minute_outage_default_policy(
    store_url: str,
) -> None:
    outcome = await _run(store_url, events=10_000, outage=60.0, retries=None, deadline=800)
    _check(outcome, retries=None)
    assert not outcome["dead"]["down"] and not outcome["dead"]["flaky"]
