"""The pure decisions of one execution step (no I/O): what to advance and what to schedule.

The interpreter (:mod:`stormproof.core.asl.interpreter`) repeats its task and timer requests
on every ``advance``. The runtime keeps a little *bookkeeping* beside the interpreter state
so that each request becomes exactly one durable message:

- ``dispatched``: ids of the tasks that have a message on the task queue (a request not in
  it is new and gets one);
- ``timer_at``: the time of the earliest timer message waiting on the step queue (a new
  timer message is only needed for an earlier time; a fired one clears it);
- ``heartbeats``: the heartbeat deadline (``at``) and period (``every``) of each
  ``.waitForTaskToken`` task that has ``HeartbeatSeconds``; a step after the deadline
  feeds ``States.HeartbeatTimeout``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl.failure import HEARTBEAT_TIMEOUT
from stormproof.core.asl.history import Recorder
from stormproof.core.asl.interpreter import ExecState, Step, abort, advance
from stormproof.core.asl.random_source import RandomSource
from stormproof.core.asl.run_context import iso


Runtime = dict[str, Any]


def new_runtime() -> Runtime:
    """Bookkeeping of an execution with nothing scheduled."""
    return {"dispatched": [], "timer_at": None, "heartbeats": {}}


@dataclass(frozen=True)
class StepPlan:
    """What one step decided: the new state and events, and the messages to send."""

    state: ExecState
    events: list[dict[str, Any]]
    runtime: Runtime
    dispatch: list[dict[str, Any]]
    timer: datetime | None

    @property
    def status(self) -> str:
        """The execution's status after the step."""
        return str(self.state["status"])

    @property
    def finished(self) -> bool:
        """True when the execution closed in this step (or before)."""
        return self.status != "RUNNING"


def plan_step(
    state: ExecState,
    runtime: Runtime,
    now: datetime,
    rng: RandomSource,
    outcomes: dict[str, dict[str, Any]],
    fired: Iterable[str] = (),
) -> StepPlan:
    """Feed task outcomes (and expired heartbeats), advance, and plan the messages."""
    runtime = copy.deepcopy(runtime)
    if runtime.get("timer_at") in set(fired):
        runtime["timer_at"] = None
    completed = dict(outcomes)
    for task_id, beat in runtime.get("heartbeats", {}).items():
        if task_id not in completed and now >= datetime.fromisoformat(beat["at"]):
            completed[task_id] = {"error": HEARTBEAT_TIMEOUT, "cause": None}
    return schedule(advance(state, now, rng, completed), runtime, now)


def plan_abort(state: ExecState, now: datetime, error: str | None, cause: str | None) -> StepPlan:
    """``StopExecution``: the aborted state and its event; nothing left to schedule."""
    step = abort(state, now, error, cause)
    return StepPlan(step.state, step.events, new_runtime(), [], None)


def schedule(step: Step, runtime: Runtime, now: datetime) -> StepPlan:
    """Turn the step's repeated requests into new task messages and at most one timer."""
    if step.finished:
        return StepPlan(step.state, step.events, new_runtime(), [], None)
    tasks = step.tasks
    pending = {t["id"] for t in tasks}
    sent = set(runtime.get("dispatched", []))
    new = [t for t in tasks if t["id"] not in sent]
    heartbeats = {k: v for k, v in runtime.get("heartbeats", {}).items() if k in pending}
    for task in new:
        if task.get("token") and task.get("heartbeat_seconds"):
            seconds = int(task["heartbeat_seconds"])
            heartbeats[task["id"]] = {"at": iso(now + timedelta(seconds=seconds)), "every": seconds}
    wakes = [datetime.fromisoformat(v["at"]) for v in heartbeats.values()]
    if step.wake_at is not None:
        wakes.append(step.wake_at)
    timer = None
    timer_at = runtime.get("timer_at")
    if wakes:
        wake = min(wakes)
        if timer_at is None or wake < datetime.fromisoformat(timer_at):
            timer, timer_at = wake, iso(wake)
    runtime = {
        "dispatched": [t["id"] for t in tasks],
        "timer_at": timer_at,
        "heartbeats": heartbeats,
    }
    return StepPlan(step.state, step.events, runtime, new, timer)


def heartbeat(runtime: Runtime, task_id: str, now: datetime) -> Runtime | None:
    """Bookkeeping after ``SendTaskHeartbeat`` (the deadline moves on); None: no change."""
    beat = runtime.get("heartbeats", {}).get(task_id)
    if beat is None:
        return None
    runtime = copy.deepcopy(runtime)
    deadline = iso(now + timedelta(seconds=int(beat["every"])))
    runtime["heartbeats"][task_id] = {**beat, "at": deadline}
    return runtime


def redrive(state: ExecState, now: datetime) -> tuple[ExecState, list[dict[str, Any]]]:
    """``RedriveExecution``: re-enter the state the execution failed (or stopped) in.

    States that succeeded before it are not run again; the failed state is entered afresh
    (a Map or Parallel state runs all its iterations or branches again). The execution's
    ``TimeoutSeconds`` counts from the redrive.
    """
    state = copy.deepcopy(state)
    execution = state["context"]["Execution"]
    count = int(execution.get("RedriveCount", 0)) + 1
    execution["RedriveCount"] = count
    state.update(status="RUNNING", output=None, error=None, cause=None)
    timeout = state["definition"].get("TimeoutSeconds")
    if timeout is not None:
        state["deadline"] = iso(now + timedelta(seconds=int(timeout)))
    events: list[dict[str, Any]] = []
    root = state["root"]
    Recorder(state["counter"], events, iso(now)).emit(
        root, "ExecutionRedriven", {"redriveCount": count}
    )
    keep = ("block", "state", "input", "vars", "last_event_id")
    for key in [k for k in root if k not in keep]:
        del root[key]
    root.update(status="RUNNING", phase="enter", retry_counts=[])
    return state, events


def task_pending(runtime: Runtime, task_id: str) -> bool:
    """Whether the task is dispatched and still waiting for its outcome."""
    return task_id in runtime.get("dispatched", [])
