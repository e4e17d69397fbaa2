"""An app's event buses (``app.buses``): definitions, the catalog, background delivery.

``async with app`` (``App.open``) syncs each declared bus to the store. Background work
runs in a worker (``Worker.start`` calls :meth:`BusManager.start_background`) or inside an
app opened with ``consume=True`` (``app.buses.background``): it starts one delivery
consumer per declared bus and a housekeeping loop (new definitions, orphaned replays,
archive retention). Only buses declared by this process's code are delivered here,
because delivering needs the targets' code and settings (an HTTP target's secret, a
state machine object). Tests with a fake clock call :meth:`BusManager.drain`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stormproof.bus import schedule as bus_schedule
from stormproof.bus.archive import ReplayManager
from stormproof.bus.bus import Bus
from stormproof.bus.delivery import VISIBILITY_TIMEOUT, DeliveryConsumer
from stormproof.bus.publish import delivery_queue
from stormproof.bus.targets import HttpTarget
from stormproof.engine.http_sender import HttpSender, require_httpx
from stormproof.engine.leases import LeaseKeeper
from stormproof.engine.limits import define_limit
from stormproof.engine.periodic import Periodic
from stormproof.engine.slots import SlotPool
from stormproof.errors import InvalidAttribute, QueueDoesNotExist
from stormproof.functions.function import INTERNAL_QUEUE_PREFIX
from stormproof.storage import bus_ops
from stormproof.storage.base import CompareAndSet

if TYPE_CHECKING:
    from stormproof.engine.runtime import Runtime
    from stormproof.queues.registry import QueueRegistry

log = logging.getLogger("stormproof.bus")

CATALOG_PREFIX = "bus/"
DELIVERY_RETENTION = 1_209_600  # longer than the longest max_event_age (one day)
HOUSEKEEPING_INTERVAL = 5.0
EXPIRE_INTERVAL = 60.0
CATALOG_TTL = 5.0  # a bus read from the store is re-read after this long
SHUTDOWN_GRACE = 10.0


class BusManager:
    """The buses of one app process (see the module docstring)."""

    def __init__(self, app: Runtime, queues: QueueRegistry) -> None:
        self.app = app
        self.queues = queues
        self.buses: dict[str, Bus] = {}
        queues.users.append(self.uses_of)
        self.background = True
        self.max_deliveries = 64
        self.rng = random.Random()
        self.http = HttpSender()
        self.replays = ReplayManager(self)
        self._keeper: LeaseKeeper | None = None
        self._consumers: dict[str, DeliveryConsumer] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._loaded_at: dict[str, float] = {}
        self._stop: asyncio.Event | None = None
        self._housekeeping: Periodic | None = None
        self._expired_at = 0.0

    # --- definitions ----------------------------------------------------------------

    def bus(self, name: str = "default") -> Bus:
        """Declare (or get) a bus of this app."""
        if not isinstance(name, str):
            raise InvalidAttribute("name", name, "a bus name: 1 to 64 characters")
        found = self.buses.get(name)
        if found is None or not found.declared:
            found = self.buses[name] = Bus(self, name)
        return found

    def http_target(self, url: str, **options: Any) -> HttpTarget:
        """An HTTP endpoint for ``Target(...)`` (see :class:`HttpTarget`); its ``rate`` is a
        global limit (:mod:`stormproof.engine.limits`): shared by every process on the store."""
        require_httpx()
        target = HttpTarget(url, **options)
        if target.rate is not None:
            digest = hashlib.sha256(target.name.encode()).hexdigest()[:16]
            target.limit = define_limit(
                lambda: self.app.store,
                lambda: self.app.clock,
                _no_pool,
                f"http-{digest}",
                rate=target.rate,
            )
        return target

    async def get(self, name: str) -> Bus:
        """A bus declared here, or read from the store's catalog."""
        found = self.buses.get(name)
        if found is not None and (
            found.declared or self.app.clock.now() - self._loaded_at.get(name, 0) < CATALOG_TTL
        ):
            return found
        rec = await self.app.store.get_state(CATALOG_PREFIX + name)
        if rec is None:
            raise InvalidAttribute("bus", name, "an existing bus (declared by an app)")
        # Refreshed in place, so handles held by callers see the new definitions.
        bus = found if found is not None else Bus(self, name, declared=False)
        bus.load_spec(json.loads(rec.value))
        await self._cache_queues(bus)
        bus.dirty = False
        self.buses[name], self._loaded_at[name] = bus, self.app.clock.now()
        return bus

    async def catalog(self) -> list[dict[str, Any]]:
        """Every bus's catalog record (as stored)."""
        recs = await self.app.store.list_states(CATALOG_PREFIX)
        return [json.loads(r.value) for r in recs]

    async def _cache_queues(self, bus: Bus) -> None:
        """Load the attributes of every queue the bus publishes to (publishing reads them)."""
        names = {delivery_queue(bus.name)}
        for rule in bus.rules.values():
            for target in rule.targets:
                if target.kind == "queue":
                    names.add(target.name)
                elif target.kind == "function":
                    names.add(INTERNAL_QUEUE_PREFIX + target.name)
                if target.dead_letter:
                    names.add(target.dead_letter)
        for name in names:
            with contextlib.suppress(QueueDoesNotExist):
                await self.queues.get(name)

    async def ready(self, bus: Bus) -> None:
        """Make sure the store knows the bus's current definitions before using them."""
        self.app.store  # noqa: B018 - raises when the app is not open
        if bus.declared and bus.dirty:
            await self.sync(bus)
        elif not bus.declared:
            await self.get(bus.name)

    async def sync(self, bus: Bus) -> None:
        """Create the delivery queue, write the catalog record, arm the schedule timers."""
        bus.dirty = False
        try:
            await self.queues.create(
                delivery_queue(bus.name),
                visibility_timeout=VISIBILITY_TIMEOUT,
                retention=DELIVERY_RETENTION,
            )
            await self._write_catalog(bus)
            await self._cache_queues(bus)
            await bus_schedule.reconcile(self, bus)
        except BaseException:
            bus.dirty = True
            raise

    async def _write_catalog(self, bus: Bus) -> None:
        store, key = self.app.store, CATALOG_PREFIX + bus.name
        value = json.dumps(bus.to_spec(), sort_keys=True)
        for _ in range(10):
            rec = await store.get_state(key)
            if rec is not None and rec.value == value:
                return
            op = CompareAndSet(key, rec.version if rec else None, value)
            if (await store.apply([op]))[0].ok:
                return
        raise InvalidAttribute("bus", bus.name, "a catalog record not contended by others")

    def uses_of(self, queue: str) -> list[str]:
        """How this app's declared bus rules use ``queue`` (a target or a target's DLQ)."""
        uses = []
        for bus in self.buses.values():
            for rule in bus.rules.values() if bus.declared else ():
                for t in rule.targets:
                    where = f"rule {rule.name!r} of bus {bus.name!r}"
                    if t.kind == "queue" and t.name == queue:
                        uses.append(f"target of {where}")
                    if t.dead_letter == queue:
                        uses.append(f"dead-letter queue of a target of {where}")
        return uses

    # --- lifecycle ------------------------------------------------------------------

    @property
    def keeper(self) -> LeaseKeeper:
        """Batches the deletes of delivered messages."""
        if self._keeper is None:
            self._keeper = LeaseKeeper(lambda: self.app.store, self.app.clock)
        return self._keeper

    def consumer(self, bus: Bus) -> DeliveryConsumer:
        """The delivery consumer of a declared bus."""
        if bus.name not in self._consumers:
            self._consumers[bus.name] = DeliveryConsumer(self, bus)
        return self._consumers[bus.name]

    async def open(self) -> None:
        """Sync every declared bus; start background delivery unless disabled."""
        for bus in list(self.buses.values()):
            if bus.declared:
                await self.sync(bus)
        if self.background:
            self.start_background()

    def start_background(self) -> None:
        """Run delivery and housekeeping loops for the declared buses (a Worker calls it)."""
        # An app without buses (a CLI command, another team's worker) runs nothing here.
        if self._stop is None and any(b.declared for b in self.buses.values()):
            self._stop = asyncio.Event()
            self._housekeeping = Periodic(
                "stormproof-bus-housekeeping",
                self.housekeeping_once,
                HOUSEKEEPING_INTERVAL,
                self.app.clock,
            )
            self._housekeeping.start()
            self._start_consumers()

    def _start_consumers(self) -> None:
        assert self._stop is not None
        for bus in list(self.buses.values()):
            if bus.declared and bus.name not in self._loops:
                task = self.consumer(bus).run(self._stop)
                self._loops[bus.name] = asyncio.create_task(task, name=f"bus-{bus.name}")

    async def close(self) -> None:
        """Stop background work; unfinished deliveries reappear after their timeout."""
        await self.stop_background()
        await self.replays.close()
        if self._keeper is not None:
            await self._keeper.close()
            self._keeper = None
        self._consumers.clear()
        await self.http.close()

    async def stop_background(self) -> None:
        """Stop the delivery and housekeeping loops (running deliveries get a grace)."""
        if self._stop is not None:
            self._stop.set()
        loops, self._loops = list(self._loops.values()), {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await asyncio.gather(*loops, return_exceptions=True)
                for consumer in self._consumers.values():
                    await consumer.wait_idle()
        for task in [*loops, *(t for c in self._consumers.values() for t in c.inflight)]:
            task.cancel()
        if self._housekeeping is not None:
            await self._housekeeping.stop(SHUTDOWN_GRACE)
            self._housekeeping = None
        self._stop = None

    # --- work -----------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due on every declared bus and deliver it; returns messages claimed.

        For tests (a fake clock, ``background = False``) and tools.
        """
        claimed = 0
        for bus in list(self.buses.values()):
            if bus.declared:
                await self.ready(bus)
                consumer = self.consumer(bus)
                claimed += await consumer.poll_once()
                await consumer.wait_idle()
        return claimed

    async def drain(self, rounds: int = 1000) -> int:
        """Run :meth:`run_once` until nothing is due; returns messages claimed in all."""
        total = 0
        for _ in range(rounds):
            claimed = await self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    async def housekeeping_once(self) -> None:
        """Sync changed buses, resume orphaned replays, apply archive retention."""
        for bus in list(self.buses.values()):
            if bus.declared and bus.dirty:
                await self.sync(bus)
        if self._stop is not None:
            self._start_consumers()
        await self.replays.resume_orphans()
        now = self.app.clock.now()
        if now - self._expired_at >= EXPIRE_INTERVAL:
            self._expired_at = now
            await self.expire_archives()

    async def expire_archives(self) -> int:
        """Delete archived events past their archive's retention; returns how many."""
        removed = 0
        for spec in await self.catalog():
            for archive in spec.get("archives", []):
                if archive.get("retention") is not None:
                    removed += await self._expire(archive["name"], float(archive["retention"]))
        return removed

    async def _expire(self, archive: str, retention: float) -> int:
        return await self.app.store.run(lambda: bus_ops.expire(archive, retention))

    async def archive_stats(self) -> Mapping[str, tuple[int, int]]:
        """``{archive: (events, bytes)}``."""
        return await self.app.store.run(bus_ops.stats)


def _no_pool(name: str, size: int) -> SlotPool:
    raise AssertionError("an HTTP target's limit has no concurrency")  # never called
