"""Where ``stormproof bench bus`` deliveries land, one kind per workload, and how they are
counted (cheaply, while draining), collected by event id (to check them) and timed (latency
probes: events whose ``detail.t`` is the time they were put)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import httpx

from stormproof.app import App
from stormproof.queues.queue import Queue

RECEIVE = 10
HOLD = 3600  # received sink messages stay hidden for the rest of the run


class Sinks:
    """The sinks of one workload: ``fanout`` targets of ``kind`` (see :mod:`.bus`)."""

    def __init__(self, kind: str, fanout: int, http: str) -> None:
        self.kind = kind
        self.fanout = fanout
        self.http = http
        self.queues: list[Queue] = []
        self.seen: list[list[str]] = [[] for _ in range(fanout)]
        self.latencies: list[float] = []
        self._client: httpx.AsyncClient | None = None
        self._receivers: list[asyncio.Task[None]] = []

    def destination(self, app: App, tag: str, i: int) -> Any:
        """The destination of target ``i``."""
        if self.kind in ("queue", "bus"):
            q = app.queue(f"sink-{tag}-{i}", visibility_timeout=HOLD)
            self.queues.append(q)
            if self.kind == "queue":
                return q
            from stormproof.bus.targets import Target

            hop = app.bus(f"hop-{tag}-{i}")
            hop.rule("all", pattern={"source": ["bench"]}, targets=[Target(q)])
            return hop
        if self.kind == "function":
            return app.function(name=f"noop-{tag}-{i}", timeout=10)(self._handler(i))
        return app.http_target(f"{self.http}/t/{i}", name=f"{tag}-{i}")

    def _handler(self, i: int) -> Any:
        async def handler(event: Any, context: Any) -> None:
            self._note(i, event)

        return handler

    def _note(self, i: int, event: dict[str, Any]) -> None:
        sent = event["detail"].get("t")
        if sent is None:
            self.seen[i].append(event["id"])
        else:
            self.latencies.append(time.time() - float(sent))

    async def __aenter__(self) -> Sinks:
        if self.kind == "http":
            self._client = httpx.AsyncClient(base_url=self.http)
            await self._client.delete("/seen")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._receivers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.delete("/seen")
            await self._client.aclose()

    async def delivered(self) -> int:
        """How many deliveries have arrived."""
        if self.kind == "function":
            return sum(len(s) for s in self.seen)
        if self._client is not None:
            return int((await self._client.get("/count")).json())
        total = 0
        for q in self.queues:
            c = await q.app.store.counts(q.name)
            total += c.visible + c.in_flight + c.delayed
        return total

    async def collect(self) -> list[list[str]]:
        """The event ids each target got (the sink queues are emptied)."""
        if self._client is not None:
            ids = (await self._client.get("/seen")).json()["ids"]
            await self._client.delete("/seen")
            return [ids.get(str(i), []) for i in range(self.fanout)]
        for i, q in enumerate(self.queues):
            while batch := await q.receive(RECEIVE, visibility_timeout=HOLD):
                self.seen[i] += [json.loads(m.body)["id"] for m in batch]
            await q.purge()
        return [list(s) for s in self.seen]

    async def listen(self) -> None:
        """Start receiving the sink queues (for latency probes)."""
        self._receivers = [asyncio.create_task(self._receive(q)) for q in self.queues]

    async def _receive(self, q: Queue) -> None:
        while True:
            for m in await q.receive(RECEIVE, visibility_timeout=HOLD, wait=0.5):
                self._note(0, json.loads(m.body))

    async def probes_seen(self) -> int:
        """How many probe deliveries have arrived."""
        return len(await self.probe_latencies())

    async def probe_latencies(self) -> list[float]:
        """Put-to-arrival seconds of each probe delivery so far."""
        if self._client is not None:
            return [float(x) for x in (await self._client.get("/seen")).json()["latency"]]
        return list(self.latencies)
