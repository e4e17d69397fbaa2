"""Issue 14 acceptance: a consumer calling a real HTTP dependency on loopback that is down
for 60 s (on the fake clock), with and without a circuit breaker on the mapping, counted
AT THE DEPENDENCY.

With the breaker the dependency sees the failures that trip it and then only the probes,
nothing reaches the DLQ, and the backlog drains after recovery. Without it every message
is retried until its ``max_receive_count`` and the DLQ fills.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from stormproof import App, Worker
from stormproof.engine.http_sender import HttpSender
from stormproof.testing import FakeClock
from tests.runtime.bus_server import HttpServer, Request

MESSAGES = 20
DOWN_FROM, DOWN_FOR = 0.0, 60.0  # seconds after the start, on the fake clock
RUN_FOR = 120  # fake seconds the worker runs, one poll per second
TRIP_AFTER, OPEN_FOR, CONCURRENCY = 3, 10, 10


class Outage:
    """The dependency: 503 during the outage, 200 otherwise; remembers when it was called."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now()
        self.calls: list[tuple[float, str, int]] = []  # (time since start, body, status)
        self.server = HttpServer(status=self._answer)

    def _answer(self, request: Request) -> int:
        at = self.clock.now() - self.start
        code = 503 if DOWN_FROM <= at < DOWN_FROM + DOWN_FOR else 200
        self.calls.append((at, request.json()["body"], code))
        return code

    def during_outage(self) -> int:
        return sum(1 for at, _, code in self.calls if code == 503)

    def served(self) -> set[str]:
        return {body for _, body, code in self.calls if code == 200}


async def _run(store_url: str, with_breaker: bool) -> tuple[Outage, int, int]:
    clock = FakeClock()
    dep = Outage(clock)
    await dep.server.up()
    client = HttpSender()
    try:
        return await _serve(store_url, clock, dep, client, with_breaker)
    finally:
        await client.close()
        await dep.server.down()


async def _serve(
    store_url: str, clock: FakeClock, dep: Outage, client: HttpSender, with_breaker: bool
) -> tuple[Outage, int, int]:
    app = App("outage", store_url, clock=clock)
    dlq = app.queue("orders-dlq")
    q = app.queue("orders", visibility_timeout=3, max_receive_count=10, dead_letter=dlq)
    breaker = (
        app.breaker(
            "dependency",
            consecutive_failures=TRIP_AFTER,
            open_for=OPEN_FOR,
            open_for_max=OPEN_FOR,
            half_open_calls=1,
            scope="global",
        )
        if with_breaker
        else None
    )

    @app.function(timeout=2)
    async def call_dependency(event: Any, context: Any) -> None:
        for record in event["Records"]:
            data = json.dumps({"body": record["body"]}).encode()
            status = await client.request("POST", dep.server.url, {}, data, 5)
            if status >= 300:
                raise RuntimeError(f"dependency answered {status}")

    app.consume(q, call_dependency, batch_size=1, breaker=breaker)
    async with app:
        for i in range(MESSAGES):
            await q.send(f"m{i}")
        worker = Worker(app, concurrency=CONCURRENCY)
        await worker.start()
        try:
            for _ in range(RUN_FOR):
                await worker.run_once()
                await _drain(worker)
                clock.advance(1)
        finally:
            await worker.shutdown()
        left, dead = (await q.stats()).total, (await dlq.stats()).total
    return dep, left, dead


async def _drain(worker: Worker) -> None:
    for consumer in worker.consumers:
        if consumer.inflight:
            await asyncio.gather(*consumer.inflight)


async def test_with_the_breaker_only_probes_reach_the_down_dependency(store_url: str) -> None:
    dep, left, dead = await _run(store_url, with_breaker=True)
    print(f"with breaker: {dep.during_outage()} calls at the dependency while down")
    windows = int(DOWN_FOR // OPEN_FOR) + 1  # half-open windows while it is down
    assert dep.during_outage() <= TRIP_AFTER + CONCURRENCY + windows, dep.calls
    # After the first poll's batch tripped it, only probes: one per half-open window.
    probes = [at for at, _, code in dep.calls if code == 503 and at >= 1]
    assert len(probes) <= windows, probes
    assert all(b - a >= OPEN_FOR for a, b in itertools.pairwise(probes)), probes
    assert dead == 0, "an outage dead-lettered messages"
    assert left == 0, "the backlog did not drain after recovery"
    assert dep.served() == {f"m{i}" for i in range(MESSAGES)}


async def test_without_the_breaker_the_dlq_fills(store_url: str) -> None:
    dep, left, dead = await _run(store_url, with_breaker=False)
    print(f"without: {dep.during_outage()} calls while down, {dead} in the DLQ")
    assert dead == MESSAGES, (dead, left)
    assert dep.during_outage() == MESSAGES * 10  # every receive called the down dependency
    assert dep.served() == set()
