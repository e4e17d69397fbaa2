"""DLQ redrive as a durable task (SQS's StartMessageMoveTask).

A task is a compare-and-set state record ``redrive/<queue>`` owned, under a lease, by the
process that runs it. The owner moves messages in chunks at the requested rate and
renews its lease with every chunk; if it dies, another stormproof process of the app
takes the task over once the lease has expired (see ``App.run_maintenance``). One active
task per queue; cancelling keeps what was already moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from stormproof.core.numbers import whole_number
from stormproof.engine.runtime import Runtime
from stormproof.errors import (
    InvalidAttribute,
    QueueDoesNotExist,
    RedriveTaskConflict,
    RedriveTaskNotFound,
    StormproofError,
)
from stormproof.storage.base import CompareAndSet

LEASE = 30.0
MAX_RATE = 500
_CHUNK = 100
ACTIVE = ("RUNNING", "CANCELLING")


@dataclass(frozen=True)
class RedriveStatus:
    """A redrive task's state: RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED."""

    task_id: str
    source: str
    destination: str | None
    rate: int | None
    state: str
    moved: int
    to_move: int
    started_at: float
    owner: str = ""
    lease_until: float = 0.0
    failure_reason: str | None = None


#: Longest nap while the messages left are in flight (re-checked, so a cancel is seen).
HIDDEN_POLL = 1.0


def _key(source: str) -> str:
    return f"redrive/{source}"


class RedriveTask:
    """A handle on a redrive task: ``status()`` and ``cancel()``."""

    def __init__(self, manager: RedriveManager, source: str, task_id: str) -> None:
        self._manager = manager
        self.source = source
        self.task_id = task_id

    async def status(self) -> RedriveStatus:
        """The task's current state and progress counts."""
        found = await self._manager.load(self.source)
        if found is None or found[1].task_id != self.task_id:
            raise RedriveTaskNotFound(self.source, f"redrive task {self.task_id} is gone")
        return found[1]

    async def cancel(self) -> RedriveStatus:
        """Ask the task to stop; messages already moved stay moved."""
        return await self._manager.cancel(self.source)

    async def wait(self, timeout: float = 60) -> RedriveStatus:
        """Wait (real time) until the task is no longer active."""
        async with asyncio.timeout(timeout):
            while (status := await self.status()).state in ACTIVE:
                await asyncio.sleep(0.05)
        return status


class RedriveManager:
    """Starts, runs, resumes and cancels the redrive tasks of one app process."""

    def __init__(self, app: Runtime) -> None:
        self.app = app
        self._runners: dict[str, asyncio.Task[None]] = {}

    async def load(self, source: str) -> tuple[int, RedriveStatus] | None:
        """The record's version and status."""
        rec = await self.app.store.get_state(_key(source))
        if rec is None:
            return None
        return rec.version, RedriveStatus(**json.loads(rec.value))

    async def _write(self, version: int | None, status: RedriveStatus) -> int | None:
        op = CompareAndSet(_key(status.source), version, json.dumps(asdict(status)))
        result = (await self.app.store.apply([op]))[0]
        return int(str(result.values[0])) if result.ok else None

    async def start(self, source: str, destination: str | None, rate: int | None) -> RedriveTask:
        """Start a task (one active per queue)."""
        if rate is not None:
            whole_number(
                "rate", rate, 1, MAX_RATE, allowed=f"None or a whole number from 1 to {MAX_RATE}"
            )
        store = self.app.store
        for name in (source, destination):
            if name is not None and await store.get_queue(name) is None:
                raise QueueDoesNotExist(name)
        if destination is None and not any(
            q.attributes.dead_letter == source for q in await store.list_queues()
        ):
            # SQS refuses a move task from a queue that is no dead-letter queue at once.
            raise InvalidAttribute(
                "destination", None, f"a queue name: {source!r} is no queue's dead-letter queue"
            )
        found = await self.load(source)
        if found is not None and found[1].state in ACTIVE:
            raise RedriveTaskConflict(source)
        now = await store.now()
        total = await store.counts(source)
        status = RedriveStatus(
            task_id=str(uuid.uuid4()),
            source=source,
            destination=destination,
            rate=rate,
            state="RUNNING",
            moved=0,
            to_move=total.visible + total.in_flight + total.delayed,
            started_at=now,
            owner=self.app.instance_id,
            lease_until=now + LEASE,
        )
        if await self._write(found[0] if found else None, status) is None:
            raise RedriveTaskConflict(source)
        self._spawn(source)
        return RedriveTask(self, source, status.task_id)

    async def cancel(self, source: str) -> RedriveStatus:
        """Mark the active task CANCELLING (or CANCELLED if nobody runs it)."""
        while True:
            found = await self.load(source)
            if found is None:
                raise RedriveTaskNotFound(source)
            version, status = found
            if status.state not in ACTIVE:
                return status
            now = await self.app.store.now()
            state = "CANCELLING" if status.lease_until > now else "CANCELLED"
            if await self._write(version, replace(status, state=state)) is not None:
                return replace(status, state=state)

    def _spawn(self, source: str) -> None:
        running = self._runners.get(source)
        if running is None or running.done():
            self._runners[source] = asyncio.create_task(self._run(source), name=f"redrive-{source}")

    async def resume_orphans(self) -> int:
        """Take over active tasks whose owner's lease expired; returns how many."""
        now = await self.app.store.now()
        taken = 0
        for rec in await self.app.store.list_states("redrive/"):
            status = RedriveStatus(**json.loads(rec.value))
            if status.state in ACTIVE and status.lease_until <= now:
                mine = replace(status, owner=self.app.instance_id, lease_until=now + LEASE)
                if await self._write(rec.version, mine) is not None:
                    self._spawn(status.source)
                    taken += 1
        return taken

    async def close(self) -> None:
        """Stop local runners and give up their leases: the tasks stay RUNNING and another
        process of the app resumes them on its next maintenance pass."""
        sources = list(self._runners)
        for task in self._runners.values():
            task.cancel()
        for task in self._runners.values():
            with contextlib.suppress(asyncio.CancelledError, StormproofError):
                await task
        self._runners.clear()
        for source in sources:
            with contextlib.suppress(StormproofError):
                await self._release(source)

    async def _release(self, source: str) -> None:
        found = await self.load(source)
        if found is not None:
            version, status = found
            if status.owner == self.app.instance_id and status.state in ACTIVE:
                await self._write(version, replace(status, lease_until=0.0))

    async def _run(self, source: str) -> None:
        while True:
            found = await self.load(source)
            if found is None:
                return
            version, status = found
            if status.owner != self.app.instance_id or status.state not in ACTIVE:
                return
            if status.state == "CANCELLING":
                await self._write(version, replace(status, state="CANCELLED"))
                return
            await self._step(version, status)

    async def _step(self, version: int, status: RedriveStatus) -> None:
        clock, store = self.app.clock, self.app.store
        chunk = min(_CHUNK, status.rate or _CHUNK)
        started = clock.now()
        moved = await store.move_messages(status.source, status.destination, chunk)
        now = await store.now()
        changes: dict[str, Any] = {"moved": status.moved + moved.moved, "lease_until": now + LEASE}
        hidden_for: float | None = None  # set while only in-flight or delayed ones are left
        if moved.moved == 0:
            counts = await store.counts(status.source)
            # Left behind: messages whose source queue is gone, or that never had one
            # (sent to the DLQ directly, so still visible here) when no destination was named.
            stuck = moved.unmovable or (counts.visible if status.destination is None else 0)
            if not stuck and counts.in_flight + counts.delayed:
                # In flight (someone received it) or delayed: not stuck; wait, as SQS does.
                hidden_for = await store.next_visible_in(status.source) or HIDDEN_POLL
            else:
                changes["state"] = "FAILED" if stuck else "COMPLETED"
            if stuck:
                changes["failure_reason"] = (
                    f"{stuck} messages have no existing source queue to return to; "
                    "name a destination to move them"
                )
        if await self._write(version, replace(status, **changes)) is None:
            return  # cancelled or taken over meanwhile: the next loop reads the record again
        if hidden_for is not None:
            await clock.sleep(min(HIDDEN_POLL, max(hidden_for, 0.01)))
        if status.rate and moved.moved:
            await clock.sleep(moved.moved / status.rate - (clock.now() - started))
