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
  feeds ``States.HeartbeatTimeout``;
- ``children``: the ARN of each distributed Map child execution started (or redriven) for
  a request id. A child whose request disappears without an outcome (its Map failed or
  was retried, the execution closed) is stopped;
- ``inline`` (only while set): the id of a dispatched task that has no message of its own
  because a task consumer runs it at once, under the lease of the task message it holds
  (see :mod:`stormproof.machines.inline_tasks`); kept while the task is pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl import map_run
from stormproof.core.asl.failure import HEARTBEAT_TIMEOUT
from stormproof.core.asl.interpreter import ExecState, Step, abort, advance
from stormproof.core.asl.random_source import RandomSource
from stormproof.core.asl.redrive import redrive_state
from stormproof.core.asl.run_context import iso

Runtime = dict[str, Any]
#: The runtime key of the task run inline (see the module's docstring).
INLINE = "inline"


def new_runtime() -> Runtime:
    """Bookkeeping of an execution with nothing scheduled."""
    return {"dispatched": [], "timer_at": None, "heartbeats": {}, "children": {}}


@dataclass(frozen=True)
class StepPlan:
    """What one step decided: the new state and events, and the messages to send."""

    state: ExecState
    events: list[dict[str, Any]]
    runtime: Runtime
    dispatch: list[dict[str, Any]]
    timer: datetime | None
    #: Child executions to start or redrive (``execution`` requests seen for the first time).
    spawn: list[dict[str, Any]] = field(default_factory=list)
    #: ``(child ARN, request id)`` of child executions nobody waits for any more.
    stop: list[tuple[str, str]] = field(default_factory=list)
    #: Every task request still waiting for its outcome (``dispatch``: the new ones).
    pending: list[dict[str, Any]] = field(default_factory=list)

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
    *,
    owned: bool = False,
) -> StepPlan:
    """Feed task outcomes (and expired heartbeats), advance, and plan the messages.

    ``owned``: ``state`` is the caller's own fresh copy, advanced in place (see
    :func:`~stormproof.core.asl.interpreter.advance`). ``runtime`` is never mutated.
    """
    if runtime.get("timer_at") in set(fired):
        runtime = {**runtime, "timer_at": None}
    completed = dict(outcomes)
    for task_id, beat in runtime.get("heartbeats", {}).items():
        if task_id not in completed and now >= datetime.fromisoformat(beat["at"]):
            completed[task_id] = {"error": HEARTBEAT_TIMEOUT, "cause": None}
    step = advance(state, now, rng, completed, owned=owned)
    return schedule(step, runtime, now, set(completed))


def plan_abort(
    state: ExecState,
    now: datetime,
    error: str | None,
    cause: str | None,
    runtime: Runtime | None = None,
) -> StepPlan:
    """``StopExecution``: the aborted state and its event; running children are stopped."""
    step = abort(state, now, error, cause)
    stop = list(_children(runtime or {}).items())
    return StepPlan(step.state, step.events, new_runtime(), [], None, [], _pairs(stop))


def _children(runtime: Runtime) -> dict[str, str]:
    children: dict[str, str] = runtime.get("children", {})
    return children


def _pairs(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(arn, request_id) for request_id, arn in items]


def _child_plan(
    step: Step, runtime: Runtime, completed: set[str]
) -> tuple[dict[str, str], list[dict[str, Any]], list[tuple[str, str]]]:
    """Children still awaited (id -> ARN), requests to act on, children to stop."""
    known = _children(runtime)
    parent = str(step.state["context"]["Execution"]["Id"])
    requests = [] if step.finished else step.executions
    pending = {r["id"] for r in requests}
    spawn = [r for r in requests if r["id"] not in known]
    kept = {k: v for k, v in known.items() if k in pending}
    kept.update({r["id"]: map_run.child_arn(parent, r) for r in spawn})
    gone = [(k, v) for k, v in known.items() if k not in pending and k not in completed]
    return kept, spawn, _pairs(gone)


def schedule(
    step: Step, runtime: Runtime, now: datetime, completed: set[str] | None = None
) -> StepPlan:
    """Turn the step's repeated requests into new task messages and at most one timer."""
    children, spawn, stop = _child_plan(step, runtime, completed or set())
    if step.finished:
        return StepPlan(step.state, step.events, new_runtime(), [], None, [], stop)
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
    inline = runtime.get(INLINE)
    runtime = {
        "dispatched": [t["id"] for t in tasks],
        "timer_at": timer_at,
        "heartbeats": heartbeats,
        "children": children,
    }
    if inline in pending:
        runtime[INLINE] = inline
    return StepPlan(step.state, step.events, runtime, new, timer, spawn, stop, tasks)


def heartbeat(runtime: Runtime, task_id: str, now: datetime) -> Runtime | None:
    """Bookkeeping after ``SendTaskHeartbeat`` (the deadline moves on); None: no change."""
    beat = runtime.get("heartbeats", {}).get(task_id)
    if beat is None:
        return None
    deadline = iso(now + timedelta(seconds=int(beat["every"])))
    heartbeats = {**runtime["heartbeats"], task_id: {**beat, "at": deadline}}
    return {**runtime, "heartbeats": heartbeats}


def redrive(state: ExecState, now: datetime) -> tuple[ExecState, list[dict[str, Any]]]:
    """``RedriveExecution``: resume the execution in the state it failed (or stopped) in.

    States that succeeded are not run again; a Map or Parallel state re-runs only its
    failed or aborted iterations and branches (see :mod:`stormproof.core.asl.redrive`).
    The execution's ``TimeoutSeconds`` counts from the redrive.
    """
    return redrive_state(state, now)


def task_pending(runtime: Runtime, task_id: str) -> bool:
    """Whether the task is dispatched and still waiting for its outcome."""
    return task_id in runtime.get("dispatched", [])
