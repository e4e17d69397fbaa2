"""Benchmark: the per-call cost of resilience controls (``stormproof bench controls``).

* a closed **global** breaker's check (``try_admit``), per call, and a whole guarded call
  (``admit`` + ``done``, whose outcomes are flushed to the store at most every 100 ms);
* a global limit's decision (``take(1)``) with leased blocks of tokens, per call and per
  second, under a rate high enough that it never refuses (the cost of deciding, not of
  waiting).

Each runs in one process on a fresh store beside the given URL (a new SQLite file or
PostgreSQL schema, removed afterwards). Targets from issue 14: closed check p50 <= 5 µs,
limit decisions >= 50,000/s per process; consume throughput with a closed breaker on
the mapping >= 0.9 of the same mapping without one.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import click

from stormproof.app import App
from stormproof.bench.consume import _function_round, _Handler
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.worker import Worker


def _per_call(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(float(s) for s in samples_ns)
    return {
        "p50_us": percentile(ordered, 0.5) / 1000,
        "p99_us": percentile(ordered, 0.99) / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
    }


async def _breaker(app: App, calls: int) -> dict[str, Any]:
    b = app.breaker("bench", scope="global")
    await b.refresh()
    clock = time.perf_counter_ns
    checks: list[int] = []
    for _ in range(calls):
        t0 = clock()
        await b.try_admit()
        checks.append(clock() - t0)
    t0 = clock()
    for _ in range(calls):
        permit = await b.admit()
        await b.done(permit, False)
    guarded = (clock() - t0) / calls
    return {
        "closed_check": _per_call(checks),
        "guarded_call_us": guarded / 1000,
        "guarded_calls_per_s": 1e9 / guarded,
    }


async def _limit(app: App, calls: int) -> dict[str, Any]:
    limit = app.limit("bench", rate=1_000_000, burst=1_000_000)
    await limit.take(1)  # the first lease
    clock = time.perf_counter_ns
    samples: list[int] = []
    start = clock()
    for _ in range(calls):
        t0 = clock()
        await limit.take(1)
        samples.append(clock() - t0)
    total = clock() - start
    return {"decision": _per_call(samples), "decisions_per_s": calls * 1e9 / total}


async def _consume(url: str, messages: int, rounds: int = 5) -> dict[str, Any]:
    """Messages/s through a mapping with a closed global breaker vs the same without one,
    in one worker of 4 permits, batches of 10: medians of ``rounds`` pairs of rounds, which
    kind goes first alternating (so neither always runs on a warmer or fuller store)."""
    app = App("bench-controls-consume", url)
    handlers = {"none": _Handler(), "breaker": _Handler()}
    queues = {k: app.queue(f"bench-consume-{k}", visibility_timeout=60) for k in handlers}
    breaker = app.breaker("bench-consume", scope="global")
    for kind, handler in handlers.items():
        fn = app.function(name=f"noop-{kind}", timeout=10)(handler)
        app.consume(queues[kind], fn, batch_size=10, breaker=breaker if kind == "breaker" else None)
    rates: dict[str, list[float]] = {k: [] for k in handlers}
    async with app:
        worker = Worker(app, concurrency=4)
        await worker.start()
        try:
            for i in range(rounds):
                for kind in ("none", "breaker") if i % 2 == 0 else ("breaker", "none"):
                    rate = await _function_round(
                        app, queues[kind], worker, handlers[kind], messages
                    )
                    rates[kind].append(rate)
        finally:
            await worker.shutdown()
    none, guarded = statistics.median(rates["none"]), statistics.median(rates["breaker"])
    return {
        "messages": messages,
        "rounds": rounds,
        "none_per_s": none,
        "breaker_per_s": guarded,
        "ratio": guarded / none,
    }


async def _bench(url: str, calls: int, messages: int) -> dict[str, Any]:
    app = App("bench-controls", url)
    async with app:
        breaker = await _breaker(app, calls)
        limit = await _limit(app, calls)
    consume = await _consume(url, messages) if messages else None
    return {
        "store": backend_of(url),
        "calls": calls,
        "breaker": breaker,
        "limit": limit,
        "consume": consume,
    }


def run(url: str, calls: int = 100_000, messages: int = 5_000) -> dict[str, Any]:
    """Run on a fresh store beside ``url``; the report as a dict (``messages=0``: no
    consume comparison)."""
    with fresh_store(url, "controls") as fresh:
        return asyncio.run(_bench(fresh, calls, messages))


def render(report: dict[str, Any]) -> None:
    """Print a report."""
    b, lim = report["breaker"], report["limit"]
    c, d = b["closed_check"], lim["decision"]
    click.echo(f"stormproof bench controls ({report['store']}, {report['calls']:,} calls each)")
    click.echo(f"  closed global breaker check: p50 {c['p50_us']:.2f} µs, p99 {c['p99_us']:.2f} µs")
    click.echo(
        f"  guarded call (admit + done): {b['guarded_call_us']:.2f} µs, "
        f"{b['guarded_calls_per_s']:,.0f}/s"
    )
    click.echo(
        f"  limit decision (leased tokens): p50 {d['p50_us']:.2f} µs, "
        f"{lim['decisions_per_s']:,.0f}/s"
    )
    if report.get("consume"):
        m = report["consume"]
        click.echo(
            f"  consume, closed breaker vs none: {m['breaker_per_s']:,.0f} vs "
            f"{m['none_per_s']:,.0f} msg/s, ratio {m['ratio']:.2f}"
        )
