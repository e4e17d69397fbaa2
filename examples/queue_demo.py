"""The queue engine doing its job, on the embedded SQLite default.

1. A producer floods a queue far faster than anyone can process it: the store absorbs the
   burst (storage-first buffering).
2. A consumer paced at a fixed rate levels the load: it drains the backlog at its own pace.
3. Poison messages fail every time; after ``max_receive_count`` receives they land in the
   dead-letter queue instead of blocking the queue.
4. The bug is "fixed" and the DLQ is redriven: the poison messages come back and succeed.

The final summary checks that every message sent was processed: lost = 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from stormproof import App, Queue

TOTAL = int(os.environ.get("DEMO_MESSAGES", "3000"))
POISON_EVERY = 50  # one message in 50 is poison
RATE = int(os.environ.get("DEMO_RATE", "1000"))  # the consumer's fixed pace, messages/s
STORE = Path(".stormproof/demo.db")


@dataclass
class Tally:
    """What happened, for the live display and the summary."""

    sent: int = 0
    processed: set[str] = field(default_factory=set)
    failures: int = 0
    redriven: int = 0
    fixed: bool = False
    phase: str = "flooding"
    started: float = field(default_factory=time.monotonic)


async def produce(orders: Queue, tally: Tally) -> None:
    """Send everything as fast as the store accepts it, in batches of 10."""
    for start in range(0, TOTAL, 10):
        entries = [
            {"id": str(i), "body": {"order": i, "poison": i % POISON_EVERY == 7}}
            for i in range(start, min(start + 10, TOTAL))
        ]
        result = await orders.send_batch(entries)
        assert not result.failed, result.failed
        tally.sent += len(result.successful)


def handle(body: dict[str, object], tally: Tally) -> None:
    """The business logic: poison orders crash until the fix is deployed."""
    if body["poison"] and not tally.fixed:
        raise ValueError(f"cannot parse order {body['order']}")


async def consume(orders: Queue, tally: Tally, stop: asyncio.Event) -> None:
    """Receive in batches of 10 at a fixed pace; delete only what succeeded."""
    interval = 10 / RATE
    while not stop.is_set():
        tick = time.monotonic()
        msgs = await orders.receive(max_messages=10, wait=0.5)
        done: list[dict[str, str]] = []
        for m in msgs:
            try:
                handle(m.json(), tally)
            except ValueError:
                tally.failures += 1  # not deleted: it comes back after the visibility timeout
                continue
            done.append({"id": str(len(done)), "receipt_handle": m.receipt_handle})
            tally.processed.add(str(m.json()["order"]))
        if done:
            await orders.delete_batch(done)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))


async def view(orders: Queue, dlq: Queue, tally: Tally) -> Table:
    """One frame of the live display."""
    o, d = await orders.stats(), await dlq.stats()
    table = Table(title=f"stormproof queue demo: {tally.phase}", min_width=60)
    for col in ("sent", "backlog", "in flight", "processed", "failed tries", "in DLQ", "redriven"):
        table.add_column(col, justify="right")
    table.add_row(
        str(tally.sent),
        str(o.visible + o.delayed),
        str(o.in_flight),
        str(len(tally.processed)),
        str(tally.failures),
        str(d.total),
        str(tally.redriven),
    )
    return table


async def wait_until(
    condition: Callable[[], Awaitable[bool]], orders: Queue, dlq: Queue, tally: Tally, live: Live
) -> None:
    """Refresh the display until ``condition()`` holds."""
    while not await condition():
        live.update(await view(orders, dlq, tally))
        await asyncio.sleep(0.1)
    live.update(await view(orders, dlq, tally))


async def main() -> int:
    """Run the four phases and print the summary; exit code 1 if anything was lost."""
    app = App("demo", f"sqlite:///{STORE}")
    dlq = app.queue("orders-dlq", retention=14 * 86400)
    orders = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=3)
    tally, stop, console = Tally(), asyncio.Event(), Console()
    poison = len([i for i in range(TOTAL) if i % POISON_EVERY == 7])
    async with app:
        with Live(await view(orders, dlq, tally), console=console, refresh_per_second=10) as live:
            consumer = asyncio.create_task(consume(orders, tally, stop))
            await produce(orders, tally)
            tally.phase = f"levelling: consumer paced at {RATE}/s"

            async def drained() -> bool:
                return (await orders.stats()).total == 0 and (await dlq.stats()).total == poison

            await wait_until(drained, orders, dlq, tally, live)
            tally.phase, tally.fixed = "bug fixed: redriving the DLQ", True
            task = await dlq.start_redrive()
            status = await task.wait(timeout=60)
            tally.redriven = status.moved

            async def all_done() -> bool:
                return len(tally.processed) == TOTAL

            await wait_until(all_done, orders, dlq, tally, live)
            tally.phase = "done"
            live.update(await view(orders, dlq, tally))
            stop.set()
            await consumer
    return summary(console, tally, poison, status.moved)


def summary(console: Console, tally: Tally, poison: int, redriven: int) -> int:
    """Print the final figures."""
    lost = tally.sent - len(tally.processed)
    elapsed = time.monotonic() - tally.started
    console.print(
        f"\nsent {tally.sent}, processed {len(tally.processed)}, dead-lettered {poison}, "
        f"redriven {redriven}, lost = {lost}  ({elapsed:.1f} s, store {STORE})"
    )
    return 0 if lost == 0 and redriven == poison else 1


def fresh_store() -> None:
    """Start every demo from an empty store file."""
    STORE.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{STORE}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    fresh_store()
    sys.exit(asyncio.run(main()))
