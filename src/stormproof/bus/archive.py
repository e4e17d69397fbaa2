"""Replays of archived events, as durable tasks (EventBridge's StartReplay).

A replay is a compare-and-set state record ``replay/<name>`` owned, under a lease, by the
process running it. The runner pages through the archive rows of the window (by row id,
up to the last id that existed at the start) and, for each page, commits **in one unit of
work** the deliveries of the page's events (re-matched against the bus's rules, marked
with ``replay-name``, not archived again) and the record's new cursor. So a page is
replayed exactly once even if the runner dies: another process takes the task over when
the lease has expired and resumes at the cursor. At most :data:`MAX_ACTIVE` replays are
active at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from stormproof.bus.bus import Bus
from stormproof.bus.events import parse_time
from stormproof.bus.replays import ACTIVE, Replay, ReplayStatus, state_key
from stormproof.bus.services import BusServices
from stormproof.core import names
from stormproof.errors import InvalidAttribute, ReplayNotFound, StaleLease
from stormproof.storage import bus_ops
from stormproof.storage.base import CompareAndSet, Store

log = logging.getLogger("stormproof.bus")

LEASE = 30.0
PAGE = 100
MAX_ACTIVE = 10
_NAME_RE = re.compile(r"[.\-_A-Za-z0-9]{1,64}")


def _epoch(field_name: str, value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise InvalidAttribute(field_name, value, "a datetime or epoch seconds")


class ReplayManager:
    """Starts, runs, resumes and cancels the replays of one app process."""

    def __init__(self, buses: BusServices) -> None:
        self.buses = buses
        # False: started replays are left (lease already expired) for any process with
        # background work to take over, e.g. ``stormproof events replay --no-wait``.
        self.autorun = True
        self._runners: dict[str, asyncio.Task[None]] = {}

    @property
    def _store(self) -> Store:
        return self.buses.app.store

    async def load(self, name: str) -> tuple[int, ReplayStatus] | None:
        """The record's version and status."""
        rec = await self._store.get_state(state_key(name))
        return None if rec is None else (rec.version, ReplayStatus(**json.loads(rec.value)))

    async def list(self) -> list[ReplayStatus]:
        """Every replay, oldest first."""
        recs = await self._store.list_states("replay/")
        found = [ReplayStatus(**json.loads(r.value)) for r in recs]
        return sorted(found, key=lambda s: s.started_at)

    async def start(
        self,
        bus: Bus,
        archive: str,
        start: Any,
        end: Any,
        rules: Sequence[str] | None,
        name: str | None,
    ) -> Replay:
        """Validate and start a replay (see ``Bus.start_replay``)."""
        status = await self._new_status(bus, archive, start, end, rules, name)
        active = [s for s in await self.list() if s.state in ACTIVE]
        if len(active) >= MAX_ACTIVE:
            raise InvalidAttribute("replay", status.name, f"at most {MAX_ACTIVE} active replays")
        op = CompareAndSet(state_key(status.name), None, json.dumps(asdict(status)))
        if not (await self._store.apply([op]))[0].ok:
            raise InvalidAttribute("name", status.name, "a replay name not used before")
        log.info(
            "event=replay.started name=%s archive=%s total=%d", status.name, archive, status.total
        )
        if self.autorun:
            self._spawn(status.name)
        return Replay(self, status.name)

    async def _new_status(
        self, bus: Bus, archive: str, start: Any, end: Any, rules: Any, name: str | None
    ) -> ReplayStatus:
        if archive not in bus.archives:
            raise InvalidAttribute("archive", archive, f"an archive of bus {bus.name!r}")
        lo, hi = _epoch("start", start), _epoch("end", end)
        if lo >= hi:
            raise InvalidAttribute("end", end, "a time after start")
        if rules is not None:
            if isinstance(rules, str) or not all(r in bus.rules for r in rules) or not rules:
                raise InvalidAttribute("rules", rules, f"None or rule names of bus {bus.name!r}")
            rules = list(rules)
        name = name or f"{archive}-{uuid.uuid4().hex[:12]}"
        if not names.is_name(_NAME_RE, name):
            raise InvalidAttribute("name", name, "1 to 64 characters from A-Z a-z 0-9 . _ -")
        last = await self._store.run(lambda: bus_ops.last_id(archive))
        window = bus_ops.Window(archive, lo, hi, last)
        total = await self._store.run(lambda: bus_ops.count(window))
        now = self.buses.app.clock.now()
        return ReplayStatus(
            name=name,
            bus=bus.name,
            archive=archive,
            start=lo,
            end=hi,
            rules=rules,
            state="RUNNING",
            total=total,
            last=last,
            started_at=now,
            owner=self.buses.app.instance_id,
            lease_until=now + LEASE if self.autorun else now,
        )

    async def cancel(self, name: str) -> ReplayStatus:
        """Mark an active replay CANCELLING (CANCELLED if nobody runs it)."""
        while True:
            found = await self.load(name)
            if found is None:
                raise ReplayNotFound(name)
            version, status = found
            if status.state not in ACTIVE:
                return status
            now = self.buses.app.clock.now()
            if status.lease_until > now:
                new = replace(status, state="CANCELLING")
            else:
                new = replace(status, state="CANCELLED", ended_at=now)
            if await self._write(version, new):
                return new

    async def _write(self, version: int, status: ReplayStatus) -> bool:
        op = CompareAndSet(state_key(status.name), version, json.dumps(asdict(status)))
        return bool((await self._store.apply([op]))[0].ok)

    def _spawn(self, name: str) -> None:
        running = self._runners.get(name)
        if running is None or running.done():
            self._runners[name] = asyncio.create_task(self._run(name), name=f"replay-{name}")

    async def resume_orphans(self) -> int:
        """Take over active replays whose owner's lease expired; returns how many."""
        now = self.buses.app.clock.now()
        taken = 0
        for rec in await self._store.list_states("replay/"):
            status = ReplayStatus(**json.loads(rec.value))
            if status.state in ACTIVE and status.lease_until <= now:
                mine = replace(status, owner=self.buses.app.instance_id, lease_until=now + LEASE)
                if await self._write(rec.version, mine):
                    log.info("event=replay.resumed name=%s cursor=%d", status.name, status.cursor)
                    self._spawn(status.name)
                    taken += 1
        return taken

    async def close(self) -> None:
        """Stop local runners; their replays stay RUNNING for another process to resume."""
        for task in self._runners.values():
            task.cancel()
        for task in self._runners.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._runners.clear()

    async def _run(self, name: str) -> None:
        try:
            while await self._step(name):
                pass
        except Exception:
            log.exception("event=replay.error name=%s", name)

    async def _step(self, name: str) -> bool:
        """Replay one page; False when this process should stop running the replay."""
        found = await self.load(name)
        if found is None:
            return False
        version, status = found
        if status.owner != self.buses.app.instance_id or status.state not in ACTIVE:
            return False
        now = self.buses.app.clock.now()
        if status.state == "CANCELLING":
            await self._write(version, replace(status, state="CANCELLED", ended_at=now))
            return False
        bus = await self.buses.get(status.bus)
        window = bus_ops.Window(status.archive, status.start, status.end, status.last)
        rows = await self._store.run(lambda: bus_ops.page(window, status.cursor, PAGE))
        if not rows:
            await self._write(version, replace(status, state="COMPLETED", ended_at=now))
            log.info("event=replay.completed name=%s replayed=%d", name, status.replayed)
            return False
        events = [{**json.loads(body), "replay-name": name} for _, body in rows]
        ops = bus.publish_ops(events, now, only=status.rules, archive=False)
        latest = max(parse_time(e.get("time")) for e in events)
        new = replace(
            status,
            cursor=rows[-1][0],
            replayed=status.replayed + len(rows),
            event_last_replayed_time=max(latest, status.event_last_replayed_time or latest),
            lease_until=now + LEASE,
        )
        record = CompareAndSet(state_key(name), version, json.dumps(asdict(new)))
        with contextlib.suppress(StaleLease):  # cancelled or taken over: re-read and see
            await self._store.apply([*ops, record], atomic=True)
        return True
