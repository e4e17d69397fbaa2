"""The load generator: bookings at a steady rate, with duplicate submissions mixed in.

Every request carries an ``Idempotency-Key``; a share of them (``--duplicates``) re-sends
an earlier key with its body, as a client whose answer got lost would. A 429 is retried
after its ``Retry-After`` with the same key. Each answer is one JSON line of ``--out``:
``{"key", "status", "request_id", "duplicate", "t"}``.

    python -m examples.booking.load --url URL --rate R --duration S --duplicates 0.1 --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# SP300 has 20 seats: it sells out, and later bookings of it fail with nothing to undo.
FLIGHTS = ["SP100"] * 5 + ["SP200"] * 4 + ["SP300"]
# Every DECLINE_EVERY-th new booking is paid with a card the payment API declines (5 %).
# Counted, not drawn at random: a short run (the tests' 9 s) then always has a few, and
# the failed-bookings alarm path is always exercised.
DECLINE_EVERY = 20
DECLINE_AT = 7  # the first declined card is the 8th new booking
# Requests handed to the HTTP client at once (its connections). The rest wait on a
# semaphore: with thousands pending in httpcore's own pool (a slow front door), assigning
# them to connections turns quadratic and starves the event loop.
MAX_IN_FLIGHT = 64


@dataclass
class Load:
    """The generator's settings and what it has sent so far."""

    url: str
    out: Path
    duplicates: float = 0.1
    api_key: str | None = None
    callback_url: str | None = None
    seed: int | None = None
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)  # status -> count
    accepted: set[str] = field(default_factory=set)  # distinct request ids answered 202
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _gate: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def gate(self) -> asyncio.Semaphore:
        """The bound on requests in the HTTP client at once (made in the running loop)."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        return self._gate

    def next_request(self) -> tuple[str, dict[str, Any], bool]:
        """A new booking, or (with probability ``duplicates``) an earlier one again."""
        if self.sent and self.random.random() < self.duplicates:
            key, body = self.random.choice(self.sent)
            return key, body, True
        declined = len(self.sent) % DECLINE_EVERY == DECLINE_AT
        card = "4000-declined" if declined else "4242-4242"
        body: dict[str, Any] = {
            "flight_id": self.random.choice(FLIGHTS),
            "amount": self.random.randint(50, 900),
            "card": card,
        }
        if self.callback_url and self.random.random() < 0.2:
            body["callback_url"] = self.callback_url
        key = str(uuid.uuid4())
        self.sent.append((key, body))
        return key, body, False


async def submit(
    client: httpx.AsyncClient, load: Load, key: str, body: dict[str, Any], duplicate: bool
) -> None:
    """POST one booking (retrying 429s and connection errors with the same key); log it."""
    headers = {"Idempotency-Key": key}
    if load.api_key:
        headers["x-api-key"] = load.api_key
    status, request_id = 0, None
    for _ in range(30):
        try:
            async with load.gate():
                answer = await client.post(f"{load.url}/bookings", json=body, headers=headers)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        status = answer.status_code
        if status != 429:
            request_id = answer.json().get("request_id") if status == 202 else None
            break
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    load.answers[status] = load.answers.get(status, 0) + 1
    if request_id:
        load.accepted.add(request_id)
    line = {
        "key": key,
        "status": status,
        "request_id": request_id,
        "duplicate": duplicate,
        "t": time.time(),
    }
    with load.out.open("a") as f:
        f.write(json.dumps(line) + "\n")


async def drive(client: httpx.AsyncClient, load: Load, rate: float, seconds: float) -> None:
    """Send at ``rate`` per second for ``seconds`` (requests overlap; none is dropped)."""
    start = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) + 1
        while n < due:
            task = asyncio.create_task(submit(client, load, *load.next_request()))
            load.tasks.add(task)
            task.add_done_callback(load.tasks.discard)
            n += 1
        await asyncio.sleep(min(0.05, 1 / rate))


async def finish(load: Load) -> None:
    """Wait for every request still in flight."""
    while load.tasks:
        await asyncio.gather(*list(load.tasks))


def new_client() -> httpx.AsyncClient:
    """A client with room for the overlapping requests of a few hundred per second."""
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    # A long read timeout: a front door slower than the offered rate (PostgreSQL on a busy
    # machine) must answer late rather than see every request time out and come again.
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=60.0), limits=limits)


async def run(args: argparse.Namespace) -> None:
    """The command line's whole run."""
    load = Load(args.url, args.out, args.duplicates, args.api_key, args.callback_url)
    async with new_client() as client:
        await drive(client, load, args.rate, args.duration)
        await finish(load)
    print(json.dumps({"sent": len(load.sent), "answers": load.answers}))


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.booking.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=20.0, help="new requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share, 0..1")
    parser.add_argument("--out", type=Path, default=Path("sent.jsonl"))
    parser.add_argument("--api-key", default=None, help="x-api-key (its usage plan applies)")
    parser.add_argument("--callback-url", default=None, help="webhook for 1 booking in 5")
    args = parser.parse_args(argv)
    if not 0 <= args.duplicates <= 1:
        parser.error(f"--duplicates {args.duplicates}: allowed range 0..1")
    if not 0 < args.rate <= 1000:
        parser.error(f"--rate {args.rate}: allowed range (0, 1000]")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
