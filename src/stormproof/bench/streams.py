"""``stormproof bench streams``: records/s written and consumed, put→handler latency, and
iterator age under a steady load at half the measured capacity.

For 1 and 8 shards on a fresh store: ``put_records`` of 500 (records/s written); then a
stream mapping with a no-op function (batch 100) drains them (records/s consumed end to
end, one worker, every shard leased by it); then single ``put_record`` calls while the
mapping runs measure the time until the handler sees each record (p50/p99); last, paced
producers write at 50 % of the capacity for a few seconds while the mapping runs, and
every checkpoint's iterator age (the age of the newest record it covers, as the
``stormproof_stream_iterator_age_seconds`` gauge gets it from the ``record.checkpointed``
event) is collected per shard (p50/p99/max).

The capacity is what this one process can write *and* consume at once: a record costs
1/written + 1/consumed seconds of it (they share one event loop and, here, two cores), so
the capacity is 1 / (1/written + 1/consumed). Half the drain rate alone would be more
than the process sustains while it also writes, and the age would only grow.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.engine import events
from stormproof.functions.stream_consumer import StreamConsumer

LATENCY_EVERY = 0.02  # seconds between two latency probes
PRODUCER_TICK = 0.005  # seconds the paced producer sleeps when it is ahead of its rate
PUT_BATCH = 500  # records per put_records call (Kinesis's maximum)
# Paced producers writing side by side: one alone cannot reach half of what 8 shards
# consume on PostgreSQL (each put_records call waits for its commit).
PRODUCERS = 4


async def _case(url: str, shards: int, records: int, samples: int, age_s: float) -> dict[str, Any]:
    app = App("bench-streams", url)
    stream = app.stream(f"bench-{shards}", shards=shards)
    seen: dict[str, float] = {}
    steady = Counter[str]()

    async def noop(event: dict[str, Any], context: Any) -> None:
        now = time.perf_counter()
        for r in event["Records"]:
            key = base64.b64decode(r["kinesis"]["data"]).decode()
            if key.startswith("lat"):
                seen[key] = now
            elif key.startswith("a"):
                steady["handled"] += 1

    fn = app.function(name=f"noop{shards}", timeout=60)(noop)
    mapping = app.consume(stream, fn, batch_size=100)
    async with app:
        written = await _write(stream, records)
        consumer = StreamConsumer(app, mapping)
        start = time.perf_counter()
        while await consumer.poll_once():
            pass
        consumed = records / (time.perf_counter() - start)
        latencies = await _latency(stream, consumer, seen, samples)
        # A fresh consumer (the latency phase's one stopped, giving its leases back).
        steady_state = StreamConsumer(app, mapping)
        capacity = 1 / (1 / written + 1 / consumed)
        age = await _iterator_age(stream, steady_state, steady, capacity / 2, age_s)
    return {
        "shards": shards,
        "records": records,
        "written_per_s": written,
        "consumed_per_s": consumed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "latency_samples": len(latencies),
        "iterator_age": age,
    }


async def _write(stream: Any, records: int) -> float:
    """Write ``records`` with ``put_records`` of 500; records/s."""
    entries = [{"data": f"r{i}", "partition_key": f"k{i}"} for i in range(records)]
    start = time.perf_counter()
    for i in range(0, records, PUT_BATCH):
        await stream.put_records(entries[i : i + PUT_BATCH])
    return records / (time.perf_counter() - start)


async def _latency(
    stream: Any, consumer: StreamConsumer, seen: dict[str, float], n: int
) -> list[float]:
    """Put one record every 20 ms while the mapping runs; ms until its handler saw it."""
    runner = asyncio.create_task(consumer.run())
    sent: dict[str, float] = {}
    try:
        for i in range(n):
            key = f"lat{i}"
            sent[key] = time.perf_counter()
            await stream.put_record(key, f"p{i}")
            await asyncio.sleep(LATENCY_EVERY)
        deadline = time.perf_counter() + 10
        while len(seen) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        consumer.stop()
        await runner
    return sorted((seen[k] - sent[k]) * 1000 for k in sent if k in seen)


async def _iterator_age(
    stream: Any, consumer: StreamConsumer, steady: Counter[str], rate: float, seconds: float
) -> dict[str, Any]:
    """Write at ``rate`` records/s for ``seconds`` while the mapping runs, until the
    handler has seen them all (``steady["handled"]``); the iterator age of every
    checkpoint made meanwhile, per shard and over all of them (ms)."""
    ages: dict[str, list[float]] = {}
    mapping = consumer.consumer

    def collect(event: events.RuntimeEvent) -> None:
        if event.name == "record.checkpointed" and event.fields.get("mapping") == mapping:
            shard = str(event.fields["shard"])
            ages.setdefault(shard, []).append(float(event.fields["iterator_age_seconds"]))

    runner = asyncio.create_task(consumer.run())
    unsubscribe = events.subscribe(collect)
    try:
        share = rate / PRODUCERS
        runs = (_paced(stream, share, seconds, f"a{p}-") for p in range(PRODUCERS))
        produced = sum(await asyncio.gather(*runs))
        deadline = time.perf_counter() + 10
        while steady["handled"] < produced and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        unsubscribe()
        consumer.stop()
        await runner
    return _age_report(ages, rate, produced / seconds, seconds)


async def _paced(stream: Any, rate: float, seconds: float, prefix: str) -> int:
    """Put records at ``rate``/s (in calls of up to 500) for ``seconds``; how many."""
    start, sent = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = min(int(rate * elapsed) - sent, PUT_BATCH)
        if due <= 0:
            await asyncio.sleep(PRODUCER_TICK)
            continue
        keys = [f"{prefix}{sent + k}" for k in range(due)]
        await stream.put_records([{"data": k, "partition_key": k} for k in keys])
        sent += due
    return sent


def _age_report(
    ages: dict[str, list[float]], rate: float, produced: float, seconds: float
) -> dict[str, Any]:
    every = sorted(a * 1000 for values in ages.values() for a in values)
    return {
        "capacity_per_s": rate * 2,
        "target_per_s": rate,
        "produced_per_s": produced,
        "seconds": seconds,
        **_spread(every),
        "shards": [
            {"shard_id": shard, **_spread(sorted(a * 1000 for a in ages[shard]))}
            for shard in sorted(ages)
        ],
    }


def _spread(ordered: list[float]) -> dict[str, Any]:
    """p50/p99/max of sorted milliseconds (None when there is no sample)."""
    if not ordered:
        return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "samples": len(ordered),
        "p50_ms": percentile(ordered, 0.5),
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1],
    }


async def _bench(url: str, records: int, samples: int, age_s: float) -> dict[str, Any]:
    rows = [await _case(url, shards, records, samples, age_s) for shards in (1, 8)]
    return {"store": backend_of(url), "cases": rows}


def run(
    url: str, records: int = 50_000, samples: int = 100, age_seconds: float = 5.0
) -> dict[str, Any]:
    """Run the benchmark on a fresh store beside ``url``; the report as a dict."""
    with fresh_store(url, "streams") as fresh:
        return asyncio.run(_bench(fresh, records, samples, age_seconds))


def render(report: dict[str, Any]) -> None:
    """Print a report: throughput and latency per case, then iterator age per case."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"stormproof bench streams ({report['store']})")
    for col in ("shards", "records", "written/s", "consumed/s", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    for c in report["cases"]:
        table.add_row(
            str(c["shards"]),
            f"{c['records']:,}",
            f"{c['written_per_s']:,.0f}",
            f"{c['consumed_per_s']:,.0f}",
            f"{c['p50_ms']:.1f}",
            f"{c['p99_ms']:.1f}",
        )
    console = Console()
    console.print(table)
    console.print(_age_table(report))


def _age_table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(
        title="iterator age at 50 % of capacity (write and consume at once; ms per checkpoint)"
    )
    for col in ("shards", "shard", "put/s", "checkpoints", "p50", "p99", "max"):
        table.add_column(col, justify="right")
    for c in report["cases"]:
        age = c["iterator_age"]
        rows = [("all", age), *((s["shard_id"], s) for s in age["shards"])]
        for label, s in rows:
            table.add_row(
                str(c["shards"]),
                label,
                f"{age['produced_per_s']:,.0f}" if label == "all" else "",
                str(s["samples"]),
                *(_ms(s[k]) for k in ("p50_ms", "p99_ms", "max_ms")),
            )
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
