"""Breaker transitions announced on the default bus ("Breaker State Change"), once per
transition however many processes share the breaker, and logged at WARNING when opened."""

from __future__ import annotations

import json
import logging
import random

import pytest

from stormproof import App, Target
from stormproof.testing import FakeClock


def _app(store_url: str, clock: FakeClock) -> App:
    app = App("ev", store_url, clock=clock)
    app.buses.background = False
    app.buses.rng = random.Random(1)
    alerts = app.queue("alerts")
    pattern = {"source": ["stormproof"], "detail-type": ["Breaker State Change"]}
    app.bus("default").rule("breakers", pattern=pattern, targets=[Target(alerts)])
    return app


async def test_transitions_are_events_once_and_a_warning(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    one, two = _app(store_url, clock), _app(store_url, clock)
    b1 = one.breaker("payments", consecutive_failures=1, open_for=10)
    b2 = two.breaker("payments", consecutive_failures=1, open_for=10)
    caplog.set_level(logging.WARNING, "stormproof.breakers")
    async with one, two:
        with pytest.raises(RuntimeError):
            async with b1:
                raise RuntimeError("down")
        await b2.refresh()  # two sees it open: it made no transition, so announces nothing
        clock.advance(10)
        async with b2:  # the probe succeeds: half-open then closed, announced by two
            pass
        while await one.buses.run_once():
            pass
        got = [json.loads(m.body) for m in await (await one.get_queue("alerts")).receive(10)]
    steps = sorted((e["detail"]["from"], e["detail"]["to"]) for e in got)
    assert steps == [("closed", "open"), ("half_open", "closed"), ("open", "half_open")]
    opened = next(e for e in got if e["detail"]["to"] == "open")
    assert opened["source"] == "stormproof" and opened["detail-type"] == "Breaker State Change"
    assert opened["detail"]["breaker"] == "payments"
    assert opened["detail"]["reason"] == "1 consecutive failures"
    assert opened["detail"]["open_until"] is not None
    assert any(
        "event=breaker.open breaker=payments" in r.message and r.levelno == logging.WARNING
        for r in caplog.records
    )
