"""The multi-host test's load generator: orders at a steady rate against several APIs.

``python -m tests.support.loadgen --url http://A --url http://B --rate 40 --duration 20
--duplicates 0.1 --out sent.jsonl``

Order ``i`` goes first to URL ``i mod n``. It carries ``Idempotency-Key: <order id>``; a
refused or failed attempt (connection error, timeout, 429, 5xx) is retried on the next
URL with capped backoff until ``--give-up`` seconds after it was due, so a host that
is down or cut off costs retries, not orders. A share ``--duplicates`` of the accepted
orders is sent again with the same key to another URL: the answer must carry the same
request id. One JSON line per order goes to ``--out``; a summary line to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

RETRYABLE = {429, 500, 502, 503, 504}
LIMITS = [
    ("rate", 0.1, 2000),
    ("duration", 0.1, 600),
    ("duplicates", 0, 1),
    ("give_up", 1, 600),
    ("timeout", 0.1, 60),
    ("max_in_flight", 1, 1000),
]


@dataclass
class Order:
    """One order's story: its key, every failed attempt and the answers it got."""

    order: str
    status: int | None = None
    request_id: str | None = None
    url: str | None = None
    attempts: int = 0
    seconds: float = 0.0  # from its first attempt to its answer
    errors: list[str] = field(default_factory=list)
    duplicate: dict[str, Any] | None = None


Clients = dict[str, httpx.AsyncClient]  # one per API: a dead host's connections starve no other


async def _post(clients: Clients, url: str, path: str, order: str) -> httpx.Response:
    return await clients[url].post(
        url + path, json={"order": order}, headers={"Idempotency-Key": order}
    )


async def submit(
    clients: Clients, urls: list[str], path: str, o: Order, index: int, give_up: float
) -> None:
    """Send ``o`` until an API answers 202 (or another final status) or time runs out."""
    started = time.monotonic()
    deadline = started + give_up
    while time.monotonic() < deadline:
        url = urls[(index + o.attempts) % len(urls)]
        o.attempts += 1
        try:
            answer = await _post(clients, url, path, o.order)
        except httpx.HTTPError as exc:
            o.errors.append(f"{url}: {type(exc).__name__}")
        else:
            if answer.status_code not in RETRYABLE:
                o.status, o.url = answer.status_code, url
                o.request_id = answer.json().get("request_id")
                o.seconds = round(time.monotonic() - started, 3)
                return
            o.errors.append(f"{url}: {answer.status_code}")
        await asyncio.sleep(min(2.0, 0.1 * 2 ** min(o.attempts, 5)) * random.uniform(0.5, 1))


async def resend(
    clients: Clients, urls: list[str], path: str, o: Order, index: int, give_up: float
) -> None:
    """The same order again, with its key, starting at another API (retried like the
    first): the stored answer, with the first request id, must come back."""
    again = Order(o.order)
    await submit(clients, urls, path, again, index + 1, give_up)
    o.duplicate = {
        "status": again.status,
        "request_id": again.request_id,
        "attempts": again.attempts,
        "errors": again.errors,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Drive the load; every order's line is written to ``args.out``."""
    rng = random.Random(args.seed)
    total = int(args.rate * args.duration)
    gate = asyncio.Semaphore(args.max_in_flight)
    timeout = httpx.Timeout(args.timeout)
    limits = httpx.Limits(max_connections=args.max_in_flight)
    orders = [Order(f"{args.prefix}{i}") for i in range(total)]
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            url: await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, limits=limits))
            for url in args.url
        }

        async def one(i: int) -> None:
            async with gate:
                await submit(clients, args.url, args.path, orders[i], i, args.give_up)
                if orders[i].status == 202 and rng.random() < args.duplicates:
                    await resend(clients, args.url, args.path, orders[i], i, args.give_up)

        started = time.monotonic()
        tasks = []
        for i in range(total):
            await asyncio.sleep(max(0.0, started + i / args.rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    with open(args.out, "w") as out:
        for o in orders:
            out.write(json.dumps(asdict(o)) + "\n")
    return summary(orders, time.monotonic() - started)


def summary(orders: list[Order], elapsed: float) -> dict[str, Any]:
    """Counts over the orders' lines."""
    dups = [o for o in orders if o.duplicate is not None]
    return {
        "orders": len(orders),
        "accepted": sum(o.status == 202 for o in orders),
        "unanswered": sum(o.status is None for o in orders),
        "retried": sum(o.attempts > 1 for o in orders),
        "duplicates_sent": len(dups),
        "duplicate_mismatch": sum(
            o.duplicate is not None and o.duplicate.get("request_id") != o.request_id for o in dups
        ),
        "slowest": max((o.seconds for o in orders), default=0.0),
        "elapsed": round(elapsed, 1),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line, with every limit checked."""
    p = argparse.ArgumentParser(prog="python -m tests.support.loadgen", description=__doc__)
    p.add_argument("--url", action="append", required=True, help="an API base URL (repeat)")
    p.add_argument("--path", default="/orders")
    p.add_argument("--rate", type=float, default=40.0, help="orders per second (0.1-2000)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds (0.1-600)")
    p.add_argument("--duplicates", type=float, default=0.1, help="share resent (0-1)")
    p.add_argument("--give-up", type=float, default=60.0, help="seconds per order (1-600)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per attempt")
    p.add_argument("--max-in-flight", type=int, default=100)
    p.add_argument("--prefix", default="o-")
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    for name, low, high in LIMITS:
        value = getattr(args, name)
        if not low <= value <= high:
            p.error(f"--{name.replace('_', '-')}: {value}, allowed {low}-{high}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run and print the summary as one JSON line."""
    print(json.dumps(asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))))


if __name__ == "__main__":
    main()
