"""``stormproof bench streams``: records/s written and consumed, and put→handler latency.

For 1 and 8 shards on a fresh store: ``put_records`` of 500 (records/s written); then a
stream mapping with a no-op function (batch 100) drains them (records/s consumed end to
end, one worker, every shard leased by it); then single ``put_record`` calls while the
mapping runs measure the time until the handler sees each record (p50/p99).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.functions.stream_consumer import StreamConsumer


async def _case(url: str, shards: int, records: int, samples: int) -> dict[str, Any]:
    app = App("bench-streams", url)
    stream = app.stream(f"bench-{shards}", shards=shards)
    seen: dict[str, float] = {}

    async def noop(event: dict[str, Any], context: Any) -> None:
        now = time.perf_counter()
        for r in event["Records"]:
            key = base64.b64decode(r["kinesis"]["data"]).decode()
            if key.startswith("lat"):
                seen[key] = now

    fn = app.function(name=f"noop{shards}", timeout=60)(noop)
    mapping = app.consume(stream, fn, batch_size=100)
    async with app:
        entries = [{"data": f"r{i}", "partition_key": f"k{i}"} for i in range(records)]
        start = time.perf_counter()
        for i in range(0, records, 500):
            await stream.put_records(entries[i : i + 500])
        written = records / (time.perf_counter() - start)
        consumer = StreamConsumer(app, mapping)
        start = time.perf_counter()
        while await consumer.poll_once():
            pass
        consumed = records / (time.perf_counter() - start)
        latencies = await _latency(stream, consumer, seen, samples)
        await consumer.release()
    return {
        "shards": shards, "records": records, "written_per_s": written,
        "consumed_per_s": consumed, "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99), "latency_samples": len(latencies),
    }  # fmt: skip


async def _latency(stream: Any, consumer: StreamConsumer, seen: dict[str, float], n: int) -> (
        list[float]):  # fmt: skip
    """Put one record every 20 ms while the mapping runs; ms until its handler saw it."""
    runner = asyncio.create_task(consumer.run())
    sent: dict[str, float] = {}
    try:
        for i in range(n):
            key = f"lat{i}"
            sent[key] = time.perf_counter()
            await stream.put_record(key, f"p{i}")
            await asyncio.sleep(0.02)
        deadline = time.perf_counter() + 10
        while len(seen) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        consumer.stop()
        await runner
    return sorted((seen[k] - sent[k]) * 1000 for k in sent if k in seen)


async def _bench(url: str, records: int, samples: int) -> dict[str, Any]:
    rows = [await _case(url, shards, records, samples) for shards in (1, 8)]
    return {"store": backend_of(url), "cases": rows}


def run(url: str, records: int = 50_000, samples: int = 100) -> dict[str, Any]:
    """Run the benchmark on a fresh store beside ``url``; the report as a dict."""
    with fresh_store(url, "streams") as fresh:
        return asyncio.run(_bench(fresh, records, samples))


def render(report: dict[str, Any]) -> None:
    """Print a report."""
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
    Console().print(table)
