"""Benchmark: stormproof's queue against a bare SQL loop on the same store.

One workload shape runs twice, each time on a fresh store (a new SQLite file next to the
given one, or a new PostgreSQL schema ``bench_<random>``; both are removed afterwards):

1. **send**: one producer sends N messages in batches of 10;
2. **receive+delete**: C concurrent consumers drain them, receiving and deleting in
   batches of 10;
3. **end-to-end**: the producer sends N more while the C consumers work; the phase ends
   when the last of them is deleted;
4. **bulk send** (stormproof only): one producer sends N messages with ``send_many`` in
   chunks of 1,000 to a queue of its own.

The first run goes through stormproof (``send_batch``, ``receive(max_messages=10,
wait=...)``, ``delete_batch``); the second is :mod:`stormproof.bench.bare`, the same
statements with no stormproof code. stormproof's end-to-end rate as a ratio of the bare
loop's survives a noisy machine better than either figure alone.

Latency is measured for stormproof only (the bare loop has no wake-up mechanism, it
polls): an idle consumer long-polls while a producer sends one message every
:data:`INTERVAL` seconds; each sample is the time from the start of the ``send`` call to
the return of the ``receive`` that got the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stormproof.app import App
from stormproof.bench import bare
from stormproof.bench.bare import BATCH, QUEUE, PathFigures, Tally, body_of, index_of
from stormproof.queues.queue import Queue

LATENCY_QUEUE = "bench-latency"
BULK_QUEUE = "bench-bulk"
BULK_CHUNK = 1000
INTERVAL = 0.005
WARMUP = 5
WAIT = 0.2  # long-poll of the throughput consumers: how soon they notice the phase ended


# --- fresh stores -----------------------------------------------------------------


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgres``."""
    return "sqlite" if url.startswith("sqlite:") else "postgres"


@contextlib.contextmanager
def fresh_store(url: str, label: str) -> Iterator[str]:
    """A URL for a new, empty store beside ``url``; it is removed afterwards."""
    tag = f"{label}_{secrets.token_hex(4)}"
    parts = urlsplit(url)
    if backend_of(url) == "sqlite":
        from stormproof.storage.sqlite import sqlite_path

        path, _ = sqlite_path(url)
        base = Path(path)
        fresh = base.with_name(f"{base.stem}.{tag}{base.suffix or '.db'}")
        try:
            yield f"sqlite:///{fresh}" + (f"?{parts.query}" if parts.query else "")
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{fresh}{suffix}").unlink(missing_ok=True)
        return
    query = {**dict(parse_qsl(parts.query)), "schema": f"bench_{tag}"}
    fresh_url = urlunsplit(parts._replace(query=urlencode(query)))
    try:
        yield fresh_url
    finally:
        from stormproof.storage.postgres import PostgresStore

        asyncio.run(PostgresStore(fresh_url).drop_schema())


# --- the stormproof path ----------------------------------------------------------


async def _send_range(q: Queue, start: int, n: int) -> None:
    for first in range(start, start + n, BATCH):
        entries = [
            {"id": str(i), "body": body_of(i)} for i in range(first, min(first + BATCH, start + n))
        ]
        result = await q.send_batch(entries)
        if result.failed:
            raise RuntimeError(f"send_batch failed: {result.failed[0]}")


async def _consume(q: Queue, tally: Tally) -> None:
    try:
        while not tally.closed:
            messages = await q.receive(max_messages=BATCH, wait=WAIT)
            if not messages:
                continue
            entries = [
                {"id": str(k), "receipt_handle": m.receipt_handle} for k, m in enumerate(messages)
            ]
            result = await q.delete_batch(entries)
            if result.failed:
                raise RuntimeError(f"delete_batch failed: {result.failed[0]}")
            tally.add(index_of(m.body) for m in messages)
    except BaseException:
        tally.failed = True
        raise


async def _phase(q: Queue, tally: Tally, consumers: int, produce_from: int | None) -> float:
    start = time.perf_counter()
    jobs = [_consume(q, tally) for _ in range(consumers)]
    if produce_from is not None:
        jobs.append(_send_range(q, produce_from, tally.expected))
    await asyncio.gather(*jobs)
    assert tally.done_at is not None
    return tally.done_at - start


async def _throughput(q: Queue, n: int, consumers: int) -> PathFigures:
    start = time.perf_counter()
    await _send_range(q, 0, n)
    send_s = time.perf_counter() - start
    drained = Tally(n)
    drain_s = await _phase(q, drained, consumers, None)
    both = Tally(n)
    e2e_s = await _phase(q, both, consumers, n)
    return bare.figures(n, send_s, drain_s, e2e_s, [drained, both])


async def _latency(q: Queue, samples: int) -> list[float]:
    """Send-to-receive times (ms) of ``samples`` messages to an idle long-polling consumer."""
    total = samples + WARMUP
    sent: dict[int, float] = {}
    got: dict[int, float] = {}

    async def consumer() -> None:
        while len(got) < total:
            messages = await q.receive(max_messages=BATCH, wait=1)
            now = time.perf_counter()
            for m in messages:
                got.setdefault(index_of(m.body), now)
            if messages:
                entries = [
                    {"id": str(k), "receipt_handle": m.receipt_handle}
                    for k, m in enumerate(messages)
                ]
                await q.delete_batch(entries)

    task = asyncio.create_task(consumer())
    await asyncio.sleep(0.1)  # let it settle into its long poll
    for i in range(total):
        sent[i] = time.perf_counter()
        await q.send(body_of(i))
        await asyncio.sleep(INTERVAL)
    await asyncio.wait_for(task, timeout=30)
    return sorted((got[i] - sent[i]) * 1000 for i in range(WARMUP, total))


async def _bulk(q: Queue, n: int) -> float:
    """Messages per second one producer enqueues with ``send_many`` (chunks of 1,000)."""
    entries = [{"body": body_of(i)} for i in range(n)]
    start = time.perf_counter()
    result = await q.send_many(entries, chunk=BULK_CHUNK)
    elapsed = time.perf_counter() - start
    if result.failed or len(result.successful) != n:
        raise RuntimeError(f"send_many failed: {result.failed[:1]}")
    await q.purge()
    return n / elapsed


async def _stormproof(
    url: str, n: int, consumers: int, samples: int
) -> tuple[PathFigures, list[float], float]:
    app = App("bench", url)
    q = app.queue(QUEUE)
    lq = app.queue(LATENCY_QUEUE)
    bq = app.queue(BULK_QUEUE)
    async with app:
        # Latency first, on the fresh store: after the throughput phases PostgreSQL's
        # autovacuum may be cleaning up 2N deleted rows on the same two cores.
        latencies = await _latency(lq, samples)
        figures = await _throughput(q, n, consumers)
        bulk = await _bulk(bq, n)
    return figures, latencies, bulk


def _bare(url: str, n: int, consumers: int) -> PathFigures:
    """Create the schema with stormproof's migrations, then run the bare loop on it."""

    async def migrate() -> None:
        async with App("bench-bare", url):
            pass

    asyncio.run(migrate())
    if backend_of(url) == "sqlite":
        from stormproof.storage.sqlite import sqlite_path

        path, synchronous = sqlite_path(url)
        return bare.run_sqlite(path, synchronous, n, consumers)
    from stormproof.storage.postgres import split_url

    dsn, schema = split_url(url)
    return bare.run_postgres(dsn, schema, n, consumers)


# --- the report -------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def run(
    url: str, messages: int = 20000, consumers: int = 4, latency_samples: int = 200
) -> dict[str, Any]:
    """Run both paths on fresh stores beside ``url``; the report as a dict.

    Keys: ``store``, ``messages``, ``consumers``, ``batch``, ``stormproof`` and ``bare``
    (``send_per_s``, ``receive_delete_per_s``, ``end_to_end_per_s``, ``processed``,
    ``duplicates``, ``missing``), ``ratio`` (stormproof's end-to-end over the bare
    loop's), ``ratios`` (per figure), ``bulk_send_per_s`` (stormproof's ``send_many``
    of N messages in chunks of 1,000, no bare counterpart) and ``latency`` (``samples``, ``p50_ms``,
    ``p99_ms``, ``interval_ms``).
    """
    with fresh_store(url, "stormproof") as mine:
        ours, latencies, bulk = asyncio.run(_stormproof(mine, messages, consumers, latency_samples))
    with fresh_store(url, "bare") as theirs:
        baseline = _bare(theirs, messages, consumers)
    a, b = asdict(ours), asdict(baseline)
    rates = ("send_per_s", "receive_delete_per_s", "end_to_end_per_s")
    return {
        "store": backend_of(url),
        "messages": messages,
        "consumers": consumers,
        "batch": BATCH,
        "stormproof": a,
        "bare": b,
        "ratio": a["end_to_end_per_s"] / b["end_to_end_per_s"],
        "ratios": {k: a[k] / b[k] for k in rates},
        "bulk_send_per_s": bulk,
        "latency": {
            "samples": len(latencies),
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "interval_ms": INTERVAL * 1000,
        },
    }


def render(report: dict[str, Any]) -> None:
    """Print a report as a table, the latency and the ratio line."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"queue benchmark on {report['store']}: {report['messages']} messages, "
        f"{report['consumers']} consumers, batches of {report['batch']}"
    )
    table = Table(title=title)
    for column in ("per second", "stormproof", "bare SQL loop", "ratio"):
        table.add_column(column, justify="left" if column == "per second" else "right")
    labels = {
        "send_per_s": "send",
        "receive_delete_per_s": "receive+delete",
        "end_to_end_per_s": "end-to-end",
    }
    for key, label in labels.items():
        ours, theirs = report["stormproof"][key], report["bare"][key]
        table.add_row(label, f"{ours:,.0f}", f"{theirs:,.0f}", f"{ours / theirs:.2f}")
    console = Console()
    console.print(table)
    for path in ("stormproof", "bare"):
        f = report[path]
        console.print(
            f"{path}: processed {f['processed']}, duplicates {f['duplicates']}, "
            f"missing {f['missing']}"
        )
    lat = report["latency"]
    console.print(
        f"send→receive latency (stormproof, idle long-polling consumer, one send every "
        f"{lat['interval_ms']:.0f} ms, {lat['samples']} samples): "
        f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms"
    )
    console.print(
        f"bulk send (send_many, chunks of {BULK_CHUNK}, one producer): "
        f"{report['bulk_send_per_s']:,.0f} msgs/s"
    )
    console.print(f"ratio (stormproof end-to-end / bare loop end-to-end): {report['ratio']:.2f}")


def main(url: str, messages: int = 20000, consumers: int = 4, latency_samples: int = 200) -> None:
    """Run the benchmark and print the table."""
    render(run(url, messages, consumers, latency_samples))
