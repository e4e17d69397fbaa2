"""Benchmark: event-bus publishing and delivery (``stormproof bench bus``).

One rule matching every event, with 1 or 5 targets of one kind per workload:

- **queue**: standard queues (the message is written in ``put_events``' own transaction);
- **function**: async invocations of no-op functions (enqueued in that transaction, run by
  a :class:`~stormproof.worker.Worker`);
- **bus**: other buses, each with one rule to a queue (through the delivery consumer);
- **http**: an HTTP endpoint (through the delivery consumer), a Starlette app on one
  uvicorn worker on loopback (:mod:`stormproof.bench.bus_server`), started by the bench.

Each workload has three phases, on one fresh store beside the given URL (removed
afterwards): **put** (N events, ``put_events`` of 10 entries from :data:`PRODUCERS`
concurrent producers, nothing delivering), **drain** (a worker started; until every
delivery has arrived; queue targets have nothing to drain) and **latency** (the worker
idle; one event put every :data:`INTERVAL` s, each sample from the put's start to the
delivery's arrival). Then every target's deliveries are checked by event id: ``missing``
and ``duplicates`` count what was not delivered exactly once to each target.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import click

from stormproof.app import App
from stormproof.bench.frontdoor import _free_port, _wait_ready
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.bench.sinks import Sinks
from stormproof.bus.targets import Target
from stormproof.worker import Worker

KINDS = ("queue", "function", "bus", "http")
FANOUTS = (1, 5)
PRODUCERS = 4
BATCH = 10
INTERVAL = 0.005
POLL = 0.01
DRAIN_TIMEOUT = 600.0


def _workload(app: App, kind: str, fanout: int, sinks: Sinks) -> Any:
    """Define the source bus of a workload and its targets; returns the bus."""
    tag = f"{kind}{fanout}"
    targets = [Target(sinks.destination(app, tag, i), id=f"t{i}") for i in range(fanout)]
    bus = app.bus(f"src-{tag}")
    bus.rule("all", pattern={"source": ["bench"]}, targets=targets)
    return bus


async def _put(bus: Any, events: int) -> tuple[float, set[str]]:
    """Put ``events`` events in requests of :data:`BATCH`; the seconds taken, the ids."""
    requests = [range(s, min(events, s + BATCH)) for s in range(0, events, BATCH)]
    queue: asyncio.Queue[range] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    ids: set[str] = set()

    async def producer() -> None:
        while not queue.empty():
            r = queue.get_nowait()
            entries = [{"source": "bench", "detail_type": "e", "detail": {"n": n}} for n in r]
            result = await bus.put_events(entries)
            assert result.failed_entry_count == 0
            ids.update(str(e.event_id) for e in result.entries)

    start = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(PRODUCERS)))
    return time.perf_counter() - start, ids


async def _until(count: Callable[[], Any], expected: int, timeout: float) -> float:
    """Poll ``count()`` until it reaches ``expected``; returns the seconds waited."""
    start = time.perf_counter()
    while await count() < expected:
        if time.perf_counter() - start > timeout:
            break
        await asyncio.sleep(POLL)
    return time.perf_counter() - start


async def _latency(bus: Any, sinks: Sinks, samples: int) -> dict[str, Any]:
    """Put one event every :data:`INTERVAL` s; the put-to-arrival latency of each."""
    sinks.latencies.clear()
    for _ in range(samples):
        entry = {"source": "bench", "detail_type": "probe", "detail": {"t": time.time()}}
        await bus.put_events([entry])
        await asyncio.sleep(INTERVAL)
    await _until(sinks.probes_seen, samples * sinks.fanout, 30.0)
    ordered = sorted(await sinks.probe_latencies())
    if not ordered:
        return {"samples": 0, "p50_ms": None, "p99_ms": None}
    return {
        "samples": len(ordered),
        "p50_ms": percentile(ordered, 0.5) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
    }


def _check(per_target: Sequence[Sequence[str]], expected: set[str]) -> dict[str, int]:
    """Missing and duplicated deliveries over every target, by event id."""
    missing = duplicates = 0
    for ids in per_target:
        counts = Counter(ids)
        missing += len(expected - counts.keys())
        duplicates += sum(n - 1 for n in counts.values() if n > 1)
    return {"missing": missing, "duplicates": duplicates}


async def _one(url: str, kind: str, fanout: int, events: int, samples: int, http: str) -> Any:
    app = App(f"bench-bus-{kind}{fanout}", url)
    sinks = Sinks(kind, fanout, http)
    bus = _workload(app, kind, fanout, sinks)
    async with app, sinks:
        put_s, put_ids = await _put(bus, events)
        expected = events * fanout
        worker = Worker(app, concurrency=10)
        running = asyncio.create_task(worker.run())
        try:
            drain_s = await _until(sinks.delivered, expected, DRAIN_TIMEOUT)
            ids = await sinks.collect()
            await sinks.listen()
            latency = await _latency(bus, sinks, samples)
        finally:
            worker.stop()
            await running
    through = kind != "queue"
    return {
        "kind": kind,
        "targets": fanout,
        "events": events,
        "deliveries": expected,
        "put_s": put_s,
        "events_per_s": events / put_s,
        "drain_s": drain_s if through else None,
        "deliveries_per_s": expected / (drain_s if through else put_s),
        "delivered": sum(len(x) for x in ids),
        **_check(ids, put_ids),
        "latency": latency,
    }


async def _bench(url: str, events: int, samples: int, kinds: Sequence[str], http: str) -> Any:
    results = []
    for kind in kinds:
        for fanout in FANOUTS:
            results.append(await _one(url, kind, fanout, events, samples, http))
    return results


def run(
    url: str, events: int = 5000, samples: int = 100, kinds: Sequence[str] = KINDS
) -> dict[str, Any]:
    """Run every workload on a fresh store beside ``url``; the report as a dict."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "stormproof.bench.bus_server", str(port)])
    try:
        _wait_ready(port, server)
        with fresh_store(url, "bus") as fresh:
            base = f"http://127.0.0.1:{port}"
            results = asyncio.run(_bench(fresh, events, samples, kinds, base))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"store": backend_of(url), "events": events, "workloads": results}


def render(report: dict[str, Any]) -> None:
    """Print a report."""
    click.echo(f"stormproof bench bus ({report['store']}, {report['events']:,} events each)")
    click.echo(
        f"  {'target':<9}{'n':>2} {'events/s put':>13} {'deliveries/s':>13} "
        f"{'p50 ms':>8} {'p99 ms':>8}  missing dup"
    )
    for w in report["workloads"]:
        lat = w["latency"]
        p50 = f"{lat['p50_ms']:.2f}" if lat["p50_ms"] is not None else "-"
        p99 = f"{lat['p99_ms']:.2f}" if lat["p99_ms"] is not None else "-"
        click.echo(
            f"  {w['kind']:<9}{w['targets']:>2} {w['events_per_s']:>13,.0f} "
            f"{w['deliveries_per_s']:>13,.0f} {p50:>8} {p99:>8}  "
            f"{w['missing']:>7} {w['duplicates']:>3}"
        )
