"""Benchmark: a no-op function consuming a queue, against the queue engine in the same run.

On a fresh store beside the given URL (removed afterwards), each round runs:

1. **engine**: N messages are stored, then C concurrent consumers drain them with
   ``receive(max_messages=10)`` + ``delete_batch`` (the queue engine's own rate);
2. **functions**: N messages are stored, then a :class:`~stormproof.worker.Worker`
   (``--concurrency C``) runs an event-source mapping (batch size B) to a no-op ``async def``
   function with reserved concurrency C; the rate is N over the time from the worker's
   start until every message was handled and deleted.

Then **latency**: with the worker idle, a producer sends one message every
:data:`INTERVAL` seconds; each sample is the time from the start of the ``send`` call to the
start of the handler that got it. Rates are the medians over the rounds (the machine may be
noisy); ``ratio`` is the functions' median over the engine's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.core.queue_rules import prepare_message
from stormproof.queues.queue import Queue
from stormproof.storage.base import Enqueue
from stormproof.worker import Worker

INTERVAL = 0.005
WARMUP = 5
FILL_CHUNK = 1000


async def _fill(app: App, q: Queue, n: int, tag: str) -> None:
    """Store ``n`` messages in a few large units (not measured)."""
    for start in range(0, n, FILL_CHUNK):
        end = min(n, start + FILL_CHUNK)
        msgs = [prepare_message(q.attributes, f"{tag}{i}") for i in range(start, end)]
        await app.store.apply([Enqueue(q.name, msgs)])


async def _engine_round(app: App, q: Queue, n: int, consumers: int) -> float:
    await _fill(app, q, n, "e")
    done = 0
    finished = asyncio.Event()

    async def consume() -> None:
        nonlocal done
        while not finished.is_set():
            msgs = await q.receive(max_messages=10, wait=0.2)
            if not msgs:
                continue
            entries = [
                {"id": str(k), "receipt_handle": m.receipt_handle} for k, m in enumerate(msgs)
            ]
            await q.delete_batch(entries)
            done += len(msgs)
            if done >= n:
                finished.set()

    start = time.perf_counter()
    tasks = [asyncio.create_task(consume()) for _ in range(consumers)]
    await finished.wait()
    elapsed = time.perf_counter() - start
    await asyncio.gather(*tasks)
    return n / elapsed


class _Handler:
    """The no-op handler: counts records, and notes when latency probes arrive."""

    def __init__(self) -> None:
        self.seen = 0
        self.target = 0
        self.reached = asyncio.Event()
        self.probes: dict[str, float] = {}

    async def __call__(self, event: Any, context: Any) -> None:
        now = time.perf_counter()
        for record in event["Records"]:
            body = record["body"]
            if body[0] == "p":
                self.probes[body] = now
        self.seen += len(event["Records"])
        if self.seen >= self.target:
            self.reached.set()


async def _function_round(app: App, q: Queue, worker: Worker, handler: _Handler, n: int) -> float:
    await _fill(app, q, n, "f")
    handler.seen, handler.target = 0, n
    handler.reached.clear()
    start = time.perf_counter()
    for consumer in worker.consumers:
        consumer.stopping.clear()
    pollers = [asyncio.create_task(c.run()) for c in worker.consumers]
    await handler.reached.wait()
    await worker.wait_idle()
    elapsed = time.perf_counter() - start
    for consumer in worker.consumers:
        consumer.stop()
    await asyncio.gather(*pollers)
    return n / elapsed


async def _latency(q: Queue, worker: Worker, handler: _Handler, samples: int) -> list[float]:
    for consumer in worker.consumers:
        consumer.stopping.clear()
    pollers = [asyncio.create_task(c.run()) for c in worker.consumers]
    await asyncio.sleep(0.2)  # let the consumers settle into their idle wait
    sent: dict[str, float] = {}
    total = samples + WARMUP
    for i in range(total):
        body = f"p{i}"
        sent[body] = time.perf_counter()
        await q.send(body)
        await asyncio.sleep(INTERVAL)
    deadline = time.perf_counter() + 30
    while len(handler.probes) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    # A probe's handler has run, but its batch may still be deleting: count what is left
    # only once every unit has finished.
    await worker.wait_idle()
    for consumer in worker.consumers:
        consumer.stop()
    await asyncio.gather(*pollers)
    await worker.wait_idle()
    keys = [f"p{i}" for i in range(WARMUP, total)]
    return sorted((handler.probes[k] - sent[k]) * 1000 for k in keys if k in handler.probes)


async def _bench(
    url: str, n: int, batch: int, concurrency: int, rounds: int, samples: int, reserved: bool
) -> dict[str, Any]:
    app = App("bench-consume", url)
    engine_q = app.queue("bench-engine", visibility_timeout=60)
    fn_q = app.queue("bench-fn", visibility_timeout=60)
    handler = _Handler()
    noop = app.function(name="noop", timeout=10, concurrency=concurrency if reserved else None)(
        handler
    )
    app.consume(fn_q, noop, batch_size=batch)
    engine: list[float] = []
    functions: list[float] = []
    async with app:
        worker = Worker(app, concurrency=concurrency)
        await worker.start()
        try:
            for _ in range(rounds):
                engine.append(await _engine_round(app, engine_q, n, concurrency))
                functions.append(await _function_round(app, fn_q, worker, handler, n))
            latencies = await _latency(fn_q, worker, handler, samples)
            left = (await fn_q.stats()).total + (await engine_q.stats()).total
        finally:
            await worker.shutdown()
    return _report(url, n, batch, concurrency, reserved, engine, functions, latencies, left)


def _report(
    url: str,
    n: int,
    batch: int,
    concurrency: int,
    reserved: bool,
    engine: list[float],
    functions: list[float],
    latencies: list[float],
    left: int,
) -> dict[str, Any]:
    e, f = statistics.median(engine), statistics.median(functions)
    return {
        "store": backend_of(url),
        "messages": n,
        "batch_size": batch,
        "concurrency": concurrency,
        "reserved_concurrency": reserved,
        "rounds": len(engine),
        "engine_receive_delete_per_s": e,
        "functions_per_s": f,
        "ratio": f / e,
        "engine_rounds": engine,
        "functions_rounds": functions,
        "left_in_queues": left,
        "latency": {
            "samples": len(latencies),
            "p50_ms": percentile(latencies, 0.50) if latencies else None,
            "p99_ms": percentile(latencies, 0.99) if latencies else None,
            "interval_ms": INTERVAL * 1000,
        },
    }


def run(
    url: str,
    messages: int = 20000,
    batch_size: int = 10,
    concurrency: int = 10,
    rounds: int = 3,
    latency_samples: int = 200,
    reserved: bool = True,
) -> dict[str, Any]:
    """Run the benchmark on a fresh store beside ``url``; the report as a dict."""
    with fresh_store(url, "consume") as fresh:
        return asyncio.run(
            _bench(fresh, messages, batch_size, concurrency, rounds, latency_samples, reserved)
        )


def render(report: dict[str, Any]) -> None:
    """Print a report."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"stormproof bench consume ({report['store']})")
    table.add_column("path")
    table.add_column("messages/s (median)", justify="right")
    table.add_column("rounds", justify="right")
    for label, key in (
        ("engine receive+delete", "engine"),
        ("function (mapping, no-op)", "functions"),
    ):
        median = report["engine_receive_delete_per_s" if key == "engine" else "functions_per_s"]
        rounds = ", ".join(f"{r:,.0f}" for r in report[f"{key}_rounds"])
        table.add_row(label, f"{median:,.0f}", rounds)
    console = Console()
    console.print(table)
    lat = report["latency"]
    console.print(
        f"ratio functions/engine: {report['ratio']:.2f}   "
        f"send→handler latency p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms "
        f"({lat['samples']} samples, one send every {lat['interval_ms']:g} ms)   "
        f"batch {report['batch_size']}, concurrency {report['concurrency']}"
        f"{' (reserved)' if report['reserved_concurrency'] else ''}"
    )
