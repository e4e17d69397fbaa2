"""Load generation: messages to a queue, records to a stream, events to a bus, requests to a
route, each at a rate for a bounded time.

Every body carries an ``id`` and its ``sent_at`` so the ledger can match what was processed
to what was sent. Only what the store accepted counts as sent. Requests go only to the
app's own front door, which the runner serves on 127.0.0.1: load never leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from stormproof.app import App
from stormproof.engine.http_sender import HttpFailure, HttpSender
from stormproof.experiments.spec import Load

TICK = 0.01  # seconds between pacing checks
BATCH = {"queue": 10, "bus": 10, "stream": 500, "route": 1}
REQUEST_TIMEOUT = 10.0
IN_FLIGHT = 64


@dataclass
class Traffic:
    """What the load generators did: accepted ids, refusals, and each request's outcome."""

    sent: set[str] = field(default_factory=set)
    poison: set[str] = field(default_factory=set)
    send_errors: int = 0
    sent_times: list[float] = field(default_factory=list)
    requests: list[tuple[float, float, int]] = field(default_factory=list)  # at, latency, status


def body_of(load: Load, index: int, n: int) -> dict[str, Any]:
    """The ``n``-th body of load entry ``index``."""
    body = {**load.body, "id": f"L{index}-{n}", "sent_at": time.time()}
    if n in load.poison:
        body["poison"] = True
    return body


async def generate(
    app: App, load: Load, index: int, traffic: Traffic, started: float, base_url: str | None
) -> None:
    """Send ``load`` from ``started + load.start`` (loop time) until it is all sent."""
    loop = asyncio.get_running_loop()
    total = max(1, math.ceil(load.rate * load.duration))
    begin = started + load.start
    client = HttpSender() if load.kind == "route" else None
    # Requests go out concurrently (a slow answer must not lower the rate), at most
    # IN_FLIGHT at once; sends to the store are awaited in order, batched.
    in_flight: set[asyncio.Task[None]] = set()
    n = 0
    try:
        await asyncio.sleep(max(0.0, begin - loop.time()))
        while n < total:
            due = min(total, math.floor((loop.time() - begin) * load.rate) + 1)
            while n < due:
                size = min(BATCH[load.kind], due - n)
                bodies = [body_of(load, index, k) for k in range(n, n + size)]
                work = _send(app, load, bodies, traffic, client, base_url)
                if client is None:
                    await work
                else:
                    if len(in_flight) >= IN_FLIGHT:
                        await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    in_flight.add(task := asyncio.create_task(work))
                    task.add_done_callback(in_flight.discard)
                n += size
            await asyncio.sleep(max(TICK, (due / load.rate) - (loop.time() - begin)))
        if in_flight:
            await asyncio.wait(in_flight)
    finally:
        for task in in_flight:
            task.cancel()
        if client is not None:
            await client.close()


async def _send(
    app: App,
    load: Load,
    bodies: list[dict[str, Any]],
    traffic: Traffic,
    client: HttpSender | None,
    base_url: str | None,
) -> None:
    try:
        accepted = await _deliver(app, load, bodies, client, base_url, traffic)
    except Exception:
        # a refused send (a faulty store, a 5xx) is not sent: the ledger must not expect it
        traffic.send_errors += len(bodies)
        return
    now = time.time()
    for body in bodies:
        if body["id"] in accepted:
            traffic.sent.add(body["id"])
            traffic.sent_times.append(now)
            if body.get("poison"):
                traffic.poison.add(body["id"])
    traffic.send_errors += len(bodies) - len(accepted)


async def _deliver(
    app: App,
    load: Load,
    bodies: list[dict[str, Any]],
    client: HttpSender | None,
    base_url: str | None,
    traffic: Traffic,
) -> set[str]:
    ids = [b["id"] for b in bodies]
    if load.kind == "queue":
        queue = await app.get_queue(load.target)
        entries = [{"id": str(i), "body": json.dumps(b)} for i, b in enumerate(bodies)]
        result = await queue.send_batch(entries)
        return {ids[int(e)] for e, _ in result.successful}
    if load.kind == "stream":
        stream = app.streams.get(load.target)
        recs = [{"data": json.dumps(b), "partition_key": b["id"]} for b in bodies]
        put = await stream.put_records(recs)
        return {i for i, e in zip(ids, put.records, strict=True) if not e.error_code}
    if load.kind == "bus":
        events = [
            {
                "source": str(b.get("source", "chaos")),
                "detail_type": str(b.get("detail_type", "chaos.load")),
                "detail": b,
            }
            for b in bodies
        ]
        got = await app.bus(load.target).put_events(events)
        return {i for i, e in zip(ids, got.entries, strict=True) if e.error_code is None}
    return await _request(load, bodies[0], client, base_url, traffic)


async def _request(
    load: Load,
    body: dict[str, Any],
    client: HttpSender | None,
    base_url: str | None,
    traffic: Traffic,
) -> set[str]:
    if client is None or base_url is None:
        raise RuntimeError("route load needs the front door (the runner serves it)")
    method, _, path = load.target.partition(" ")
    t0 = time.perf_counter()
    headers = {"Content-Type": "application/json", "Idempotency-Key": body["id"]}
    try:
        status = await client.request(
            method, base_url + path, headers, json.dumps(body).encode(), REQUEST_TIMEOUT
        )
    except HttpFailure:
        status = 0
    traffic.requests.append((time.time(), time.perf_counter() - t0, status))
    return {body["id"]} if 200 <= status < 300 else set()
