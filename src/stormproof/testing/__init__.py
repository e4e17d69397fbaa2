"""Helpers for users' tests: a fake clock that only moves when told to, ``drain(app)``,
and a pytest plugin (``stormproof.testing.pytest_plugin``, see docs/testing.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from stormproof.testing.clock import FakeClock
from stormproof.testing.drain import drain
from stormproof.testing.machines import MachineHarness, MachineResult

__all__ = ["FakeClock", "MachineHarness", "MachineResult", "drain", "run_state_machine"]


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
    StopExecution) and ``harness`` (a :class:`~stormproof.testing.machines.MachineHarness`
    to reuse one store for many runs). See docs/machines.md.
    """
    harness: MachineHarness | None = options.pop("harness", None)
    if harness is not None:
        return harness.run(definition, input, resources, max_virtual_time, **options)
    with MachineHarness() as own:
        return own.run(definition, input, resources, max_virtual_time, **options)
