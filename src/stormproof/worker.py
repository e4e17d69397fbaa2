"""The worker process: runs every consumer of an app.

A worker runs the app's event-source mappings, async invocations, state-machine steps
and tasks (Wait and retry timers included), and bus deliveries (with bus housekeeping:
replays, archive retention). Opening an ``App`` alone consumes nothing.

``stormproof worker APP`` builds a :class:`Worker` and calls :meth:`Worker.run`. Several
workers (processes, and hosts on PostgreSQL) share the work: each claims what its capacity
allows, and global limits are leased slots in the store.

Shutdown (SIGTERM or SIGINT): stop claiming; let running units finish for up to
``shutdown_timeout`` seconds; then make the messages of unfinished units visible again at
once (change visibility 0), cancel what still runs, and close. A worker killed with
SIGKILL loses nothing either: its messages reappear after their visibility timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from stormproof.app import App
from stormproof.core.numbers import whole_number
from stormproof.engine.consumer import QueueConsumer
from stormproof.engine.leases import LeaseKeeper
from stormproof.engine.slots import Permits
from stormproof.functions.invocations import InvocationConsumer
from stormproof.functions.mapping_consumer import MappingConsumer
from stormproof.functions.stream_consumer import StreamConsumer

log = logging.getLogger("stormproof.worker")

DEFAULT_CONCURRENCY = 10
DEFAULT_SHUTDOWN_TIMEOUT = 30.0


class Worker:
    """Runs an app's consumers; mappings and invocations ``concurrency`` executions at once."""

    def __init__(
        self,
        app: App,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        rng: random.Random | None = None,
        background: bool = True,
    ) -> None:
        whole_number("concurrency", concurrency, 1, allowed="a whole number >= 1")
        self.app = app
        self.concurrency = concurrency
        self.shutdown_timeout = shutdown_timeout
        self.rng = rng or random.Random()
        #: Run the step, task and bus loops (``drain`` turns this off and runs rounds).
        self.background = background
        self.consumers: list[QueueConsumer] = []
        self.stream_consumers: list[StreamConsumer] = []
        self.keeper: LeaseKeeper | None = None
        self.permits: Permits | None = None
        self._stop = asyncio.Event()
        self._opened_app = False
        self._pollers: list[asyncio.Task[None]] = []
        self._started = False
        self._own_background = False

    async def start(self) -> None:
        """Open the app (unless open) and build the consumers; does not poll yet."""
        if self._started:
            return
        try:
            self.app.store  # noqa: B018 - raises when the app is not open
        except RuntimeError:
            await self.app.open()
            self._opened_app = True
        self.keeper = keeper = LeaseKeeper(lambda: self.app.store, self.app.clock)
        keeper.start()
        self.permits = permits = Permits(self.concurrency)
        self.consumers = [
            MappingConsumer(self.app, keeper, permits, m, self.app.functions.concurrency)
            for m in self.app.functions.mappings
            if m.enabled
        ]
        self.consumers += [
            InvocationConsumer(self.app, keeper, permits, fn, self.rng) for fn in self.app.functions
        ]
        self.stream_consumers = [StreamConsumer(self.app, m) for m in self.app.stream_mappings]
        self._started = True
        self._own_background = self.background and not self.app.consuming
        if self.background:
            self.app.buses.start_background()
            self.app.executions.start_background_if_defined()
            self.app.alarms.start()  # merges this process's incidents; one process evaluates
        log.info(
            "event=worker.started app=%s concurrency=%d consumers=%s",
            self.app.name,
            self.concurrency,
            ",".join(c.queue for c in self.consumers),
        )

    async def run(self) -> None:
        """Poll until :meth:`stop` is called, then shut down gracefully."""
        await self.start()
        loop = asyncio.get_running_loop()
        self._pollers = [
            loop.create_task(c.run(), name=f"stormproof-poll-{c.queue}") for c in self.consumers
        ]
        self._pollers += [
            loop.create_task(c.run(), name=f"stormproof-stream-{c.consumer}")
            for c in self.stream_consumers
        ]
        try:
            await self._stop.wait()
        finally:
            await self.shutdown()

    def stop(self) -> None:
        """Ask a running worker to shut down (safe from a signal handler on the loop)."""
        self._stop.set()
        for consumer in self.consumers:
            consumer.stop()
        for stream_consumer in self.stream_consumers:
            stream_consumer.stop()

    async def run_once(self) -> int:
        """One claim per consumer with the capacity free now; wait for those units to finish.

        Returns how many messages were claimed. For tests (with a fake clock) and tools.
        """
        await self.start()
        claimed = 0
        for consumer in self.consumers:
            claimed += await consumer.poll_once()
        for stream_consumer in self.stream_consumers:
            claimed += await stream_consumer.poll_once()
        await self.wait_idle()
        machines = self.app.executions
        if len(machines.machines):
            claimed += await machines.steps.drain() + await machines.tasks.drain()
        return claimed + await self.app.buses.run_once()

    async def wait_idle(self) -> None:
        """Wait until no unit is running."""
        while True:
            running = [t for c in self.consumers for t in c.inflight]
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)

    async def shutdown(self) -> int:
        """Stop claiming, finish or release in-flight work, close; returns messages released."""
        self.stop()
        for poller in self._pollers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller
        running = {t for c in self.consumers for t in c.inflight}
        if running:
            log.info(
                "event=worker.draining units=%d timeout=%s", len(running), self.shutdown_timeout
            )
            _, running = await asyncio.wait(running, timeout=self.shutdown_timeout)
        if self._own_background and not self._opened_app:
            await self.app.executions.stop_background()
            await self.app.buses.stop_background()
            await self.app.alarms.stop()
        released = 0
        if self.keeper is not None:
            if running:
                released = await self.keeper.release_all()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.keeper.close()
        if self._opened_app:
            await self.app.close()
        log.info("event=worker.stopped unfinished=%d released=%d", len(running), released)
        return released
