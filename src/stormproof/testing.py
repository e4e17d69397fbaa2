"""Helpers for users' tests: a fake clock that only moves when told to."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stormproof.machine_testing import MachineResult


class FakeClock:
    """A :class:`~stormproof.clock.Clock` whose time moves only with :meth:`advance`.

    ``sleep`` returns once the clock has been advanced past the sleeper's deadline, so
    tests never wait in real time for a timeout.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        """The fake time (epoch seconds)."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + seconds, future))
        await future


def run_state_machine(
    definition: Any,
    input: Any = None,
    resources: Mapping[str, Any] | None = None,
    max_virtual_time: float | timedelta | None = None,
    **options: Any,
) -> MachineResult:
    """Run one execution in-process on a temporary SQLite store with a fake clock.

    A plain (sync) function: Wait states and retries complete at once by advancing the
    fake clock; ``resources`` maps ``Resource`` strings to callables taking the task input.
    An execution still unfinished after ``max_virtual_time`` seconds (default: a year)
    returns with status ``RUNNING``. The result has ``status``, ``output``, ``error``,
    ``cause`` and ``history`` (AWS's event shape). Options: ``name``, ``machine_name``,
    ``machine_type``, ``role_arn``, ``start_time``, ``stop_after`` (seconds, then
    StopExecution) and ``harness`` (a :class:`~stormproof.machine_testing.MachineHarness`
    to reuse one store for many runs). See docs/machines.md.
    """
    from stormproof.machine_testing import MachineHarness

    harness: MachineHarness | None = options.pop("harness", None)
    if harness is not None:
        return harness.run(definition, input, resources, max_virtual_time, **options)
    with MachineHarness() as own:
        return own.run(definition, input, resources, max_virtual_time, **options)
