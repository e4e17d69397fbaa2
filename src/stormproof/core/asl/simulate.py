"""An in-memory driver for the interpreter with a virtual clock (for tests).

Timers complete at once by moving virtual time forward; tasks run
synchronously through the ``tasks`` mapping (``Resource`` string -> callable
taking the task input). A callable fails the task by raising
:class:`TaskFailure` (or any exception, reported by its class name).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stormproof.core.asl import map_run
from stormproof.core.asl.interpreter import ExecState, StartContext, abort, advance, start

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)

TaskFunction = Callable[[Any], Any]


class TaskFailure(Exception):
    """Raised by a simulated task to fail with an ASL error name and cause."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class SimResult:
    """Outcome of a simulated execution, with its full history in AWS's shape."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    state: ExecState = field(repr=False)
    end_time: datetime | None = None


def simulate(
    definition: dict[str, Any],
    input: Any = None,
    *,
    tasks: Mapping[str, TaskFunction] | None = None,
    max_virtual_time: float | timedelta | None = None,
    start_time: datetime = DEFAULT_START,
    seed: int = 0,
    context: StartContext | None = None,
    stop_after: float | None = None,
) -> SimResult:
    """Run ``definition`` to completion (or until ``max_virtual_time`` seconds pass).

    ``stop_after`` aborts the execution (``StopExecution``) that many virtual
    seconds after the start if it is still running then.
    """
    state = start(definition, input, context or StartContext(start_time=start_time))
    clock = _Clock(
        start_time, _offset(start_time, max_virtual_time), _offset(start_time, stop_after)
    )
    history: list[dict[str, Any]] = []
    state = _run(state, clock, random.Random(seed), tasks or {}, history)
    return SimResult(
        state["status"],
        state.get("output"),
        state.get("error"),
        state.get("cause"),
        history,
        state,
        clock.now,
    )


@dataclass
class _Clock:
    """Virtual time: ``now``, the give-up time and the StopExecution time."""

    now: datetime
    limit: datetime | None
    stop_at: datetime | None


def _run(
    state: ExecState,
    clock: _Clock,
    rng: random.Random,
    tasks: Mapping[str, TaskFunction],
    history: list[dict[str, Any]],
) -> ExecState:
    completed: dict[str, dict[str, Any]] = {}
    while True:
        step = advance(state, clock.now, rng, completed)
        history.extend(step.events)
        state = step.state
        if step.finished:
            return state
        if _run_tasks(step.tasks, tasks, completed):
            continue
        if _run_children(step.executions, state, clock, rng, tasks, completed):
            continue
        wake = step.wake_at
        if clock.stop_at is not None and (wake is None or wake >= clock.stop_at):
            stopped = abort(state, max(clock.now, clock.stop_at))
            history.extend(stopped.events)
            return stopped.state
        if wake is None or (clock.limit is not None and wake > clock.limit):
            return state
        clock.now = max(clock.now, wake)


def _offset(base: datetime, seconds: float | timedelta | None) -> datetime | None:
    if seconds is None:
        return None
    return base + (seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds))


def _run_tasks(
    requests: list[dict[str, Any]],
    tasks: Mapping[str, TaskFunction],
    completed: dict[str, dict[str, Any]],
) -> bool:
    ran = False
    for request in requests:
        # Defensive: advance() consumes every completion it is handed, so a listed request
        # is never complete yet; should that change, a task must still not run twice.
        if request["id"] in completed:  # pragma: no cover
            continue
        completed[request["id"]] = _outcome(request, tasks)
        ran = True
    return ran


def _run_children(
    requests: list[dict[str, Any]],
    state: ExecState,
    clock: _Clock,
    rng: random.Random,
    tasks: Mapping[str, TaskFunction],
    completed: dict[str, dict[str, Any]],
) -> bool:
    """Run each requested child execution to its end, one after another, in virtual time."""
    ran = False
    for request in requests:
        # Defensive, as in _run_tasks: a child execution must never run twice.
        if request["id"] in completed:  # pragma: no cover
            continue
        definition = map_run.child_definition(state["definition"], request["block"])
        context = StartContext(clock.now, request["name"], request["machine"])
        child_clock = _Clock(clock.now, clock.limit, None)
        child = _run(start(definition, request["input"], context), child_clock, rng, tasks, [])
        clock.now = max(clock.now, child_clock.now)
        if child["status"] == "RUNNING":
            continue  # unfinished at the virtual time limit
        if child["status"] == "SUCCEEDED":
            completed[request["id"]] = {"output": child.get("output")}
        else:
            completed[request["id"]] = {"error": child.get("error"), "cause": child.get("cause")}
        ran = True
    return ran


def _outcome(request: dict[str, Any], tasks: Mapping[str, TaskFunction]) -> dict[str, Any]:
    function = tasks.get(str(request["resource"]))
    if function is None:
        return {"error": "States.TaskFailed", "cause": f"No task for {request['resource']}"}
    try:
        return {"output": function(request["input"])}
    except TaskFailure as exc:
        return {"error": exc.error, "cause": exc.cause}
    except Exception as exc:  # a simulated task may fail any way a real one can
        return {"error": type(exc).__name__, "cause": str(exc)}
