"""Benchmark: a soak, a no-op function consuming a queue at a steady fraction of capacity.

On a fresh store beside the given URL (removed afterwards), with a
:class:`~stormproof.worker.Worker` (concurrency C) running an event-source mapping (batch
size B) to a no-op ``async def`` function with reserved concurrency C:

1. **capacity**: N messages are stored, and the rate is N over the time until the handler
   has seen them all (as ``bench consume``'s function round);
2. **soak**: a producer sends ``load`` x capacity messages per second (``send_batch``, as
   many batches of 10 as are due every :data:`TICK`) for the given minutes while the
   worker drains; every ``interval`` seconds a sample notes the RSS of this process (and
   of its child processes, if any, from ``/proc``), the send→handler latency p50/p99 of
   the messages handled in the interval, the queue's depth and the rates;
3. **drain**: the producer stops; once every message sent was handled (or a deadline
   passed) the worker stops. Each message's id is counted when handled: ``lost`` are the
   ids never handled, ``duplicates`` the extra handlings.

The body carries the message's id and its send time, so the producer keeps no per-message
state (which would itself grow the RSS). The **baseline** is the interval that ends at the
warm-up (default one minute; the first interval of a shorter run): ``rss_growth_pct`` is
the last interval's RSS over its, and ``latency.start`` is its latency.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store, percentile
from stormproof.queues.queue import Queue
from stormproof.worker import Worker

TICK = 0.02
DRAIN_DEADLINE = 120.0
QUEUE = "bench-soak"


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of ``pid`` and its descendants (0 for a process already gone)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        tasks = Path(f"/proc/{pid}/task").iterdir()
        children = [c for t in tasks for c in (t / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return total
    return total + sum(rss_bytes(child) for child in children)


@dataclass
class _Handler:
    """The no-op handler: counts each id it sees, and the latency of timed messages."""

    counts: bytearray = field(default_factory=bytearray)
    handled: int = 0
    latencies: list[float] = field(default_factory=list)
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    target: int = 0

    async def __call__(self, event: Any, context: Any) -> None:
        now = time.perf_counter()
        for record in event["Records"]:
            ident, sent = record["body"].split(":")
            i = int(ident)
            if i >= len(self.counts):
                self.counts.extend(bytes(max(i + 1 - len(self.counts), 4096)))
            self.counts[i] = min(255, self.counts[i] + 1)
            if sent:
                self.latencies.append((now - float(sent)) * 1000)
        self.handled += len(event["Records"])
        if self.handled >= self.target:
            self.reached.set()


async def _send(q: Queue, first: int, size: int, timed: bool) -> None:
    """Send ids ``first`` .. ``first + size - 1`` in one batch, with the send time if timed."""
    sent = repr(time.perf_counter()) if timed else ""
    ids = range(first, first + size)
    result = await q.send_batch([{"id": str(i), "body": f"{i}:{sent}"} for i in ids])
    if result.failed:
        raise RuntimeError(f"soak send failed: {result.failed[:3]}")


async def _capacity(q: Queue, handler: _Handler, n: int) -> float:
    """Send ``n`` messages flat out (ids 0..n-1) while the worker drains: the rate until
    the handler has seen them all. The sends are part of it, as they are of the soak."""
    handler.target = n
    handler.reached.clear()
    start = time.perf_counter()
    for first in range(0, n, 10):
        await _send(q, first, min(10, n - first), timed=False)
    await handler.reached.wait()
    return n / (time.perf_counter() - start)


class _Producer:
    """Sends ``rate`` messages per second, ids from ``first`` on, until :meth:`stop`."""

    def __init__(self, q: Queue, rate: float, first: int) -> None:
        self.q, self.rate, self.first = q, rate, first
        self.sent = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop after the batch being sent."""
        self._stopping.set()

    async def run(self) -> None:
        """Send what is due every :data:`TICK`, in batches of 10."""
        start = time.perf_counter()
        while not self._stopping.is_set():
            due = int((time.perf_counter() - start) * self.rate) - self.sent
            while due > 0 and not self._stopping.is_set():
                size = min(10, due)
                await _send(self.q, self.first + self.sent, size, timed=True)
                self.sent += size
                due -= size
            await asyncio.sleep(TICK)


def _summary(latencies: list[float]) -> dict[str, float | None]:
    ordered = sorted(latencies)
    if not ordered:
        return {"p50_ms": None, "p99_ms": None}
    return {"p50_ms": percentile(ordered, 0.50), "p99_ms": percentile(ordered, 0.99)}


async def _sample(
    q: Queue, handler: _Handler, producer: _Producer, began: float, last: dict[str, float]
) -> dict[str, Any]:
    """One interval's figures; ``last`` holds the previous sample's time and counters."""
    now = time.perf_counter()
    span = now - last["at"]
    latencies, handler.latencies = handler.latencies, []
    stats = await q.stats()
    sample = {
        "t_s": round(now - began, 3),
        "rss_mb": rss_bytes() / 2**20,
        "messages": len(latencies),
        **_summary(latencies),
        "depth": stats.visible + stats.in_flight + stats.delayed,
        "handled_per_s": (handler.handled - last["handled"]) / span,
        "sent_per_s": (producer.sent - last["sent"]) / span,
    }
    last.update(at=now, handled=handler.handled, sent=producer.sent)
    return sample


async def _soak(
    q: Queue, handler: _Handler, producer: _Producer, seconds: float, interval: float
) -> list[dict[str, Any]]:
    """Run the producer for ``seconds``, sampling every ``interval``."""
    sending = asyncio.create_task(producer.run())
    began = time.perf_counter()
    last = {"at": began, "handled": handler.handled, "sent": 0.0}
    samples: list[dict[str, Any]] = []
    try:
        for k in range(1, max(1, round(seconds / interval)) + 1):
            await asyncio.sleep(max(0.0, began + k * interval - time.perf_counter()))
            if sending.done():
                break  # the producer failed: its error is raised below
            samples.append(await _sample(q, handler, producer, began, last))
    finally:
        producer.stop()
        await sending
    return samples


async def _drain(handler: _Handler, total: int) -> None:
    """Wait until ``total`` messages were handled, or :data:`DRAIN_DEADLINE` passed."""
    handler.target = total
    if handler.handled < total:
        handler.reached.clear()
    try:
        await asyncio.wait_for(handler.reached.wait(), DRAIN_DEADLINE)
    except TimeoutError:
        pass  # what is still missing is reported as lost


@dataclass(frozen=True)
class Settings:
    """A soak's shape: its length, load, worker and sampling."""

    minutes: float
    load: float = 0.5
    batch_size: int = 10
    concurrency: int = 10
    interval: float = 10.0
    warmup: float = 60.0
    capacity_messages: int = 20000


async def _bench(url: str, s: Settings) -> dict[str, Any]:
    app = App("bench-soak", url)
    q = app.queue(QUEUE, visibility_timeout=60)
    handler = _Handler()
    noop = app.function(name="noop", timeout=10, concurrency=s.concurrency)(handler)
    app.consume(q, noop, batch_size=s.batch_size)
    async with app:
        worker = Worker(app, concurrency=s.concurrency)
        running = asyncio.create_task(worker.run())
        try:
            capacity = await _capacity(q, handler, s.capacity_messages)
            producer = _Producer(q, s.load * capacity, s.capacity_messages)
            # Every id's count, allocated (and touched) now, before the baseline: growing
            # it during the soak would show as the runtime's RSS growth.
            expected = s.capacity_messages + math.ceil(producer.rate * s.minutes * 60 * 1.25)
            handler.counts.extend(bytes(max(0, expected - len(handler.counts))))
            samples = await _soak(q, handler, producer, s.minutes * 60, s.interval)
            total = s.capacity_messages + producer.sent
            await _drain(handler, total)
        finally:
            worker.stop()
            await running
        left = (await q.stats()).total
    counts = handler.counts[:total]
    counts.extend(bytes(total - len(counts)))  # ids past the last one handled: lost
    return _report(url, s, capacity, samples, counts, left)


def _report(
    url: str,
    s: Settings,
    capacity: float,
    samples: list[dict[str, Any]],
    counts: bytearray,
    left: int,
) -> dict[str, Any]:
    base = samples[min(len(samples), max(1, math.ceil(s.warmup / s.interval))) - 1]
    end = samples[-1]
    return {
        "store": backend_of(url),
        "minutes": s.minutes,
        "load": s.load,
        "batch_size": s.batch_size,
        "concurrency": s.concurrency,
        "interval_s": s.interval,
        "capacity_per_s": capacity,
        "rate_per_s": s.load * capacity,
        "sent": len(counts) - s.capacity_messages,
        "handled": sum(counts),
        "lost": counts.count(0),
        "duplicates": sum(c - 1 for c in counts if c > 1),
        "left_in_queue": left,
        "rss_start_mb": base["rss_mb"],
        "rss_end_mb": end["rss_mb"],
        "rss_growth_pct": (end["rss_mb"] / base["rss_mb"] - 1) * 100,
        "baseline_t_s": base["t_s"],
        "latency": {
            "start": {k: base[k] for k in ("p50_ms", "p99_ms")},
            "end": {k: end[k] for k in ("p50_ms", "p99_ms")},
        },
        "intervals": samples,
    }


def run(url: str, settings: Settings) -> dict[str, Any]:
    """Run the soak on a fresh store beside ``url``; the report as a dict."""
    with fresh_store(url, "soak") as fresh:
        return asyncio.run(_bench(fresh, settings))


def _ms(latency: dict[str, float | None]) -> str:
    return " / ".join("-" if v is None else f"{v:.2f}" for v in latency.values())


def render(report: dict[str, Any]) -> None:
    """Print a report: the intervals, then the verdict figures."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"stormproof bench soak ({report['store']})")
    for column in ("t s", "RSS MB", "p50 ms", "p99 ms", "depth", "handled/s", "sent/s"):
        table.add_column(column, justify="right")
    for i in report["intervals"]:
        p50, p99 = (f"{v:.1f}" if v is not None else "-" for v in (i["p50_ms"], i["p99_ms"]))
        rates = (f"{i['handled_per_s']:,.0f}", f"{i['sent_per_s']:,.0f}")
        table.add_row(f"{i['t_s']:.0f}", f"{i['rss_mb']:.1f}", p50, p99, str(i["depth"]), *rates)
    console = Console()
    console.print(table)
    lat = report["latency"]
    console.print(
        f"capacity {report['capacity_per_s']:,.0f}/s, load {report['load']:g} -> "
        f"{report['rate_per_s']:,.0f}/s for {report['minutes']:g} min   "
        f"RSS {report['rss_start_mb']:.1f} -> {report['rss_end_mb']:.1f} MB "
        f"({report['rss_growth_pct']:+.1f} %)   p50/p99 {_ms(lat['start'])} -> "
        f"{_ms(lat['end'])} ms   "
        f"sent {report['sent']:,}, lost {report['lost']}, duplicates {report['duplicates']}, "
        f"left {report['left_in_queue']}"
    )
