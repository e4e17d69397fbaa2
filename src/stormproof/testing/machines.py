"""Run state machine executions in-process on a temporary SQLite store with a fake clock.

:class:`MachineHarness` owns one store, one app and one event loop, so many executions can
run one after another cheaply (each starting at its own ``start_time``). It drives the
real step and task consumers, not a simulation: every step is committed to the store.
When nothing is visible, the clock jumps to the next timer, so Wait states and retry
backoff complete at once. ``stormproof.testing.run_state_machine`` wraps it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from stormproof.app import App
from stormproof.machines.records import DEFAULT_ROLE_ARN
from stormproof.machines.step_messages import STEPS_QUEUE, TASKS_QUEUE
from stormproof.testing.clock import FakeClock

#: A Standard execution may run for a year: unfinished then, it is reported RUNNING.
DEFAULT_MAX_VIRTUAL_TIME = timedelta(days=366)
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MachineResult:
    """How an execution ended (or ``RUNNING``), with its history in AWS's shape."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] = field(repr=False)
    execution_arn: str = ""


class _SettableClock(FakeClock):
    """A fake clock the harness may also set back, for the next execution's start."""

    def set(self, moment: float) -> None:
        self._now = float(moment)


class MachineHarness:
    """One temporary store for running executions; use as a context manager (sync)."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="stormproof-machines-"))
        self.clock = _SettableClock()
        self.app = App("stormproof-test", f"sqlite:///{self._dir}/machines.db", clock=self.clock)
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self.app.open())

    def __enter__(self) -> MachineHarness:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the app and remove the temporary store."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.app.close())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def run(
        self,
        definition: Any,
        input: Any = None,
        resources: Mapping[str, Any] | None = None,
        max_virtual_time: float | timedelta | None = None,
        **options: Any,
    ) -> MachineResult:
        """Run one execution to its end (see ``stormproof.testing.run_state_machine``)."""
        return self._loop.run_until_complete(
            self._run(definition, input, resources, max_virtual_time, **options)
        )

    async def _run(
        self,
        definition: Any,
        input: Any,
        resources: Mapping[str, Any] | None,
        max_virtual_time: float | timedelta | None,
        *,
        name: str = "execution",
        machine_name: str = "StateMachine",
        machine_type: str = "STANDARD",
        role_arn: str = DEFAULT_ROLE_ARN,
        start_time: datetime = DEFAULT_START,
        stop_after: float | None = None,
    ) -> MachineResult:
        manager = self.app.executions
        machine = manager.machines.define(
            machine_name, definition, resources=resources, type=machine_type, role_arn=role_arn
        )
        self.clock.set(start_time.timestamp())
        await manager.save_machine(machine)
        arn = await manager.start_execution(machine_name, input, name)
        try:
            await self._drive(arn, _seconds(max_virtual_time), stop_after)
            info = await manager.describe_execution(arn)
            history = await manager.get_execution_history(arn)
        finally:
            for queue in (STEPS_QUEUE, TASKS_QUEUE):
                await self.app.store.purge(queue)
            await manager.delete_execution(arn)
        return MachineResult(info.status, info.output, info.error, info.cause, history, arn)

    async def _drive(self, arn: str, limit: float, stop_after: float | None) -> None:
        manager, store = self.app.executions, self.app.store
        start = self.clock.now()
        while True:
            progressed = await manager.steps.drain() + await manager.tasks.drain()
            if (await manager.describe_execution(arn)).status != "RUNNING":
                return
            if progressed:
                continue
            waits = [await store.next_visible_in(q) for q in (STEPS_QUEUE, TASKS_QUEUE)]
            wake = min((w for w in waits if w is not None), default=None)
            now = self.clock.now()
            if stop_after is not None and (wake is None or now + wake >= start + stop_after):
                self.clock.set(max(now, start + stop_after))
                await manager.stop_execution(arn)
                return
            if wake is None or now + wake > start + limit:
                return
            self.clock.advance(wake)


def _seconds(value: float | timedelta | None) -> float:
    if value is None:
        return DEFAULT_MAX_VIRTUAL_TIME.total_seconds()
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
