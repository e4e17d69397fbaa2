"""The small apps the shipped chaos experiments run against (``examples/chaos/*.yaml``).

Each app's handlers wear ``@ledger.recorded`` so that the report counts what was really
processed. The store comes from ``STORMPROOF_STORE`` (or ``--store``).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from stormproof import App
from stormproof.core.backoff import Jitter, delay
from stormproof.experiments import Dependency, Ledger
from stormproof.experiments.timeline import peak_to_mean

payments = Dependency("payments")
api = Dependency("api")


# --- 1. a dependency outage, with and without a circuit breaker ------------------------


def _outage(name: str, *, breaker: bool) -> App:
    app = App(name)
    ledger = Ledger(app)
    dlq = app.queue("orders-dlq", retention=86400)
    orders = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=5)

    @app.function(timeout=1)
    @ledger.recorded
    async def charge(event: Any, context: Any) -> None:
        await payments.call(timeout=0.5)

    options: dict[str, Any] = {"batch_size": 1}
    if breaker:
        options["breaker"] = app.breaker(
            "payments", consecutive_failures=3, open_for=1, open_for_max=3, scope="process"
        )
    app.consume(orders, charge, **options)
    return app


outage_breaker = _outage("outage-breaker", breaker=True)
outage_plain = _outage("outage-plain", breaker=False)


# --- 2. a retry storm: pure exponential backoff against full jitter --------------------

STORM_ATTEMPTS = 10
STORM_CLIENTS = 100  # callers in the one message, starting together (the AWS study's contention)


def _storm(name: str, jitter: Jitter) -> App:
    app = App(name)
    ledger = Ledger(app)
    calls = app.queue("calls", visibility_timeout=60)
    rng = random.Random(7)

    async def client() -> None:
        for attempt in range(STORM_ATTEMPTS):
            try:
                await api.call(timeout=2, retry=attempt > 0)
                return
            except Exception:
                if attempt == STORM_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(delay(attempt, base=0.25, cap=2.0, jitter=jitter, rng=rng))

    @app.function(timeout=30)
    @ledger.recorded
    async def call_api(event: Any, context: Any) -> None:
        await asyncio.gather(*(client() for _ in range(STORM_CLIENTS)))

    app.consume(calls, call_api, batch_size=1)
    return app


storm_plain = _storm("storm-plain", Jitter.NONE)
storm_jitter = _storm("storm-jitter", Jitter.FULL)

STORM_BIN = 0.05  # seconds: the resolution at which synchronised retries show as spikes
STORM_MAX_PEAK = 10.0


def api_spikes_ok(app: App) -> bool:
    """Custom probe: the retries reaching ``api`` per 50 ms never peak above 10x their mean."""
    if not api.retries:
        return True
    t0 = min(api.retries)
    bins = [0.0] * (int((max(api.retries) - t0) // STORM_BIN) + 1)
    for at in api.retries:
        bins[int((at - t0) // STORM_BIN)] += 1
    ratio = peak_to_mean(bins)
    return ratio is not None and ratio <= STORM_MAX_PEAK


# --- 3. workers SIGKILLed under load; 4. a slow and flaky store --------------------------


def _jobs(name: str) -> App:
    app = App(name)
    ledger = Ledger(app)
    dlq = app.queue("jobs-dlq", retention=86400)
    jobs = app.queue("jobs", visibility_timeout=2, dead_letter=dlq, max_receive_count=10)

    @app.function(timeout=1)
    @ledger.recorded
    async def work(event: Any, context: Any) -> None:
        await asyncio.sleep(0.02)

    app.consume(jobs, work, batch_size=5)
    return app


kill_app = _jobs("kill-workers")
store_app = _jobs("flaky-store")


# --- 5. a poison record in a stream, with and without bisect-on-error -------------------


def _clicks(name: str, *, bisect: bool) -> App:
    app = App(name)
    ledger = Ledger(app)
    clicks = app.stream("clicks", shards=2)
    failed = app.queue("clicks-failed", retention=86400)

    @app.function(timeout=5)
    @ledger.recorded
    async def count(event: Any, context: Any) -> None:
        import base64
        import json

        for r in event["Records"]:
            if json.loads(base64.b64decode(r["kinesis"]["data"])).get("poison"):
                raise ValueError("poison record")

    app.consume(
        clicks,
        count,
        batch_size=20,
        bisect_on_error=bisect,
        max_retry_attempts=2,
        on_failure=failed,
    )
    return app


stream_bisect = _clicks("poison-bisect", bisect=True)
stream_plain = _clicks("poison-plain", bisect=False)
