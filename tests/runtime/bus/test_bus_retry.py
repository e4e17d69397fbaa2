"""Delivery retries with a fake clock against a real loopback HTTP server (no sleeping
for backoffs): attempts, delays within the jitter bounds, the age limit, DLQ attributes."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from stormproof import App, HmacAuth, Queue, Target
from stormproof.bus.publish import delivery_queue
from stormproof.testing import FakeClock
from tests.runtime.bus_server import HttpServer

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"n": 1}}


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = await HttpServer(status=503).up()
    yield srv
    await srv.down()


def _app(store_url: str) -> tuple[App, FakeClock, Queue]:
    clock = FakeClock()
    app = App("retry", store_url, clock=clock, consume=True)
    app.buses.background = False
    app.buses.rng = random.Random(7)
    return app, clock, app.queue("dlq")


async def _hidden_for(app: App) -> float | None:
    return await app.store.next_visible_in(delivery_queue("default"))


async def test_retries_back_off_within_full_jitter_then_dead_letter(
    store_url: str, server: HttpServer
) -> None:
    app, clock, dlq = _app(store_url)
    target = Target(
        app.http_target(server.url + "/hook", name="hook"), max_retry_attempts=3, dead_letter=dlq
    )
    app.bus("default").rule("r", pattern={"source": ["shop"]}, targets=[target])
    async with app:
        await app.bus("default").put_events([ENTRY])
        for k in range(3):  # retries 0, 1, 2 wait uniform(0, 2**k)
            assert await app.buses.run_once() == 1
            delay = await _hidden_for(app)
            assert delay is not None and 0 <= delay <= 2**k + 1e-6
            assert await app.buses.run_once() == 0  # hidden until its backoff time
            clock.advance(delay + 0.001)
        assert await app.buses.run_once() == 1  # the fourth try fails: retries spent
        assert len(server.answered) == 4 and not server.received
        [msg] = await dlq.receive(1)
        event = json.loads(msg.body)
        assert event["source"] == "shop" and event["detail"] == {"n": 1}
        assert msg.attributes == {
            "RULE_ARN": "stormproof:events:rule/default/r",
            "TARGET_ARN": "stormproof:http:hook",
            "ERROR_CODE": "SERVER_ERROR",
            "ERROR_MESSAGE": "target answered HTTP 503",
            "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
            "RETRY_ATTEMPTS": "3",
        }
        assert (await app.store.counts(delivery_queue("default"))).visible == 0


async def test_the_event_age_limit_stops_retries(store_url: str, server: HttpServer) -> None:
    app, clock, dlq = _app(store_url)
    target = Target(app.http_target(server.url), max_event_age=60, dead_letter=dlq)
    app.bus("default").rule("r", pattern={"source": ["shop"]}, targets=[target])
    async with app:
        await app.bus("default").put_events([ENTRY])
        clock.advance(59)  # a retry would now land past the 60 s age limit (almost surely)
        app.buses.rng = random.Random(0)  # first draw 0.84 of a 1 s ceiling -> 59.84 < 60
        assert await app.buses.run_once() == 1
        delay = await _hidden_for(app)
        assert delay is not None and delay <= 1
        clock.advance(delay + 0.001)
        for _ in range(5):
            if (await dlq.stats()).total:
                break
            await app.buses.run_once()
            hidden = await _hidden_for(app)
            clock.advance((hidden or 0) + 0.001)
        [msg] = await dlq.receive(1)
        assert msg.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"


async def test_4xx_is_not_retried_and_429_is(store_url: str, server: HttpServer) -> None:
    app, clock, dlq = _app(store_url)
    codes = iter([429, 400])
    server.status = lambda request: next(codes)
    app.bus("default").rule(
        "r",
        pattern={"source": ["shop"]},
        targets=[Target(app.http_target(server.url), dead_letter=dlq)],
    )
    async with app:
        await app.bus("default").put_events([ENTRY])
        await app.buses.run_once()  # 429: retried
        clock.advance((await _hidden_for(app) or 0) + 0.001)
        await app.buses.run_once()  # 400: dead-lettered at once
        [msg] = await dlq.receive(1)
        assert msg.attributes["ERROR_CODE"] == "CLIENT_ERROR"
        assert msg.attributes["EXHAUSTED_RETRY_CONDITION"] == "NotRetriable"
        assert msg.attributes["RETRY_ATTEMPTS"] == "1"


async def test_a_target_missing_at_delivery_goes_to_the_dlq_without_retry(
    store_url: str, server: HttpServer
) -> None:
    app, _, dlq = _app(store_url)
    bus = app.bus("default")
    bus.rule(
        "r",
        pattern={"source": ["shop"]},
        targets=[Target(app.http_target(server.url), dead_letter=dlq, id="gone")],
    )
    async with app:
        await bus.put_events([ENTRY])
        bus.rule("r", pattern={"source": ["shop"]}, targets=[])  # redeployed without it
        await app.buses.run_once()
        [msg] = await dlq.receive(1)
        assert msg.attributes["ERROR_CODE"] == "NO_RESOURCE"
        assert msg.attributes["RETRY_ATTEMPTS"] == "0"
        assert not server.answered


async def test_success_deletes_and_http_settings_are_sent(
    store_url: str, server: HttpServer
) -> None:
    app, _, _ = _app(store_url)
    server.status = 204
    http = app.http_target(
        server.url + "/in?x=1", method="PUT", headers={"X-Team": "a"}, auth=HmacAuth("s3cret")
    )
    template = {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '{"count": <n>}'}
    app.bus("default").rule(
        "r", pattern={"source": ["shop"]}, targets=[Target(http, input_transformer=template)]
    )
    async with app:
        result = await app.bus("default").put_events([ENTRY])
        assert await app.buses.run_once() == 1
        [request] = server.received
        assert (request.method, request.path) == ("PUT", "/in?x=1")
        assert request.json() == {"count": 1}
        assert request.headers["x-team"] == "a"
        assert request.headers["x-stormproof-event-id"] == result.entries[0].event_id
        assert request.headers["x-stormproof-signature"].startswith("t=")
        assert await app.buses.run_once() == 0


async def test_a_bus_target_forwards_the_event(store_url: str) -> None:
    app, _, _ = _app(store_url)
    q = app.queue("downstream")
    other = app.bus("other")
    other.rule("all", pattern={"source": ["shop"]}, targets=[Target(q)])
    app.bus("default").rule("fwd", pattern={"source": ["shop"]}, targets=[Target(other)])
    async with app:
        result = await app.bus("default").put_events([ENTRY])
        await app.buses.drain()
        [msg] = await q.receive(1)
        assert json.loads(msg.body)["id"] == result.entries[0].event_id


class Machine:
    """A stand-in for a state machine: anything with an async start_execution."""

    name = "ProcessOrder"

    def __init__(self) -> None:
        self.inputs: list[Any] = []
        self.fail = 1

    async def start_execution(self, input: Any) -> str:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("busy")
        self.inputs.append(input)
        return "exec-1"


async def test_a_state_machine_target_is_started_and_retried(store_url: str) -> None:
    app, clock, _ = _app(store_url)
    machine = Machine()
    app.bus("default").rule(
        "sm", pattern={"source": ["shop"]}, targets=[Target(machine, input_path="$.detail")]
    )
    async with app:
        await app.bus("default").put_events([ENTRY])
        await app.buses.run_once()
        clock.advance((await _hidden_for(app) or 0) + 0.001)
        await app.buses.run_once()
        assert machine.inputs == [{"n": 1}]


class StormproofStyleMachine:
    """Shaped like stormproof's StateMachine: ``definition`` and ``start(input, name=)``."""

    arn = "stormproof:states:stateMachine:Orders"
    definition: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.names: list[str] = []

    async def start(self, input: Any = None, name: str | None = None) -> str:
        self.names.append(str(name))
        if len(self.names) == 1:
            raise RuntimeError("store hiccup")
        return "arn"


async def test_a_retried_start_reuses_the_execution_name(store_url: str) -> None:
    app, clock, _ = _app(store_url)
    machine = StormproofStyleMachine()
    app.bus("default").rule("sm", pattern={"source": ["shop"]}, targets=[Target(machine)])
    async with app:
        await app.bus("default").put_events([ENTRY])
        await app.buses.run_once()
        clock.advance((await _hidden_for(app) or 0) + 0.001)
        await app.buses.run_once()
        assert len(machine.names) == 2 and machine.names[0] == machine.names[1]
