"""The resumable interpreter: ``start`` an execution, then ``advance`` it.

The execution state is one JSON-serialisable dict. ``advance`` never mutates
its argument: it returns a :class:`Step` with the new state, the history
events to append and what the execution now waits for (timers, tasks).
A durable runtime stores ``step.state`` and the events in one transaction,
schedules the requests, and calls ``advance`` again when one completes; any
process can do that, so a crash loses nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl import history
from stormproof.core.asl.engine import drive
from stormproof.core.asl.history import Recorder
from stormproof.core.asl.random_source import RandomSource
from stormproof.core.asl.run_context import Env, Run, iso, new_frame
from stormproof.core.identity import ACCOUNT, DEFAULT_ROLE_ARN, REGION

ExecState = dict[str, Any]

RUNNING = "RUNNING"


@dataclass(frozen=True)
class StartContext:
    """Names and times that make up the ``$$.Execution`` and ``$$.StateMachine`` objects."""

    start_time: datetime
    execution_name: str = "execution"
    state_machine_name: str = "StateMachine"
    region: str = REGION
    account: str = ACCOUNT
    role_arn: str = DEFAULT_ROLE_ARN
    #: For EXPRESS executions: the id AWS appends to their ``express:`` ARN.
    express_id: str | None = None

    def context_object(self, value: Any) -> dict[str, Any]:
        """The static part of the context object for an execution with input ``value``."""
        prefix = f"arn:aws:states:{self.region}:{self.account}"
        execution: dict[str, Any] = {
            "Id": f"{prefix}:execution:{self.state_machine_name}:{self.execution_name}",
            "Input": value,
            "StartTime": iso(self.start_time),
            "Name": self.execution_name,
            "RoleArn": self.role_arn,
            "RedriveCount": 0,
        }
        if self.express_id is not None:
            # Express executions cannot be redriven and have a three-part ARN.
            del execution["RedriveCount"]
            execution["Id"] = (
                f"{prefix}:express:{self.state_machine_name}:{self.execution_name}:"
                f"{self.express_id}"
            )
        return {
            "Execution": execution,
            "StateMachine": {
                "Id": f"{prefix}:stateMachine:{self.state_machine_name}",
                "Name": self.state_machine_name,
            },
        }


@dataclass(frozen=True)
class Step:
    """The result of one ``advance``: new state, new events, and what to wait for.

    ``requests`` holds dicts: ``{"kind": "timer", "at": iso}`` (call ``advance``
    again at or after that time) and ``{"kind": "task", "id", "resource",
    "input", "timeout_seconds", "heartbeat_seconds", "state"}`` (run the task,
    then call ``advance`` with ``completed_work={id: {"output": ...}}`` or
    ``{id: {"error": ..., "cause": ...}}``) and ``{"kind": "execution", ...}``
    (start a distributed Map's child execution, see ``map_run``; its outcome is
    fed back the same way). These requests repeat on every call until their
    outcome is fed back; the id makes them idempotent.
    """

    state: ExecState
    events: list[dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
        return str(self.state["status"])

    @property
    def finished(self) -> bool:
        """True once the execution has a terminal status."""
        return self.status != RUNNING

    @property
    def wake_at(self) -> datetime | None:
        """The earliest timer requested, if any."""
        times = [datetime.fromisoformat(r["at"]) for r in self.requests if r["kind"] == "timer"]
        return min(times) if times else None

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """The task requests."""
        return [r for r in self.requests if r["kind"] == "task"]

    @property
    def executions(self) -> list[dict[str, Any]]:
        """The child-execution requests of distributed Maps (see ``map_run``)."""
        return [r for r in self.requests if r["kind"] == "execution"]


def start(definition: dict[str, Any], value: Any, context: StartContext) -> ExecState:
    """A new execution of ``definition`` with input ``value`` (``None`` means ``{}``)."""
    value = {} if value is None else copy.deepcopy(value)
    deadline = None
    if definition.get("TimeoutSeconds") is not None:
        deadline = iso(context.start_time + timedelta(seconds=int(definition["TimeoutSeconds"])))
    return {
        "version": 1,
        "definition": copy.deepcopy(definition),
        "context": context.context_object(value),
        "role_arn": context.role_arn,
        "status": RUNNING,
        "started": False,
        "counter": {"next_event_id": 1},
        "next_work_id": 1,
        "deadline": deadline,
        "root": new_frame([], definition["StartAt"], value, 0),
    }


def advance(
    state: ExecState,
    now: datetime,
    rng: RandomSource,
    completed_work: dict[str, dict[str, Any]] | None = None,
    *,
    owned: bool = False,
) -> Step:
    """Run the execution as far as it can go at time ``now``.

    ``owned``: the caller hands ``state`` over (it parsed it for this call and keeps no
    reference), so it is advanced in place instead of copied first: the deep copy of a
    whole execution costs more than the rest of a Task step.
    """
    state = state if owned else _copy(state)
    events: list[dict[str, Any]] = []
    if state["status"] != RUNNING:
        return Step(state, events)
    recorder = Recorder(state["counter"], events, iso(now))
    if not state["started"]:
        _emit_started(state, events)
    deadline = state.get("deadline")
    if deadline is not None and now >= datetime.fromisoformat(deadline):
        recorder.emit(state["root"], "ExecutionTimedOut", {})
        _finish(state, "TIMED_OUT", None, None, None)
        return Step(state, events)
    run = Run(state["definition"], state, now, rng, dict(completed_work or {}))
    drive(run, state["root"], Env({}, recorder, drive))
    _conclude(state, recorder)
    requests = _unique(run.requests) if state["status"] == RUNNING else []
    if requests and deadline is not None:
        requests.append({"kind": "timer", "at": deadline})
    return Step(state, events, requests)


def abort(
    state: ExecState, now: datetime, error: str | None = None, cause: str | None = None
) -> Step:
    """Stop a running execution (``StopExecution``): ``ExecutionAborted``, status ABORTED."""
    state = _copy(state)
    events: list[dict[str, Any]] = []
    if state["status"] == RUNNING:
        Recorder(state["counter"], events, iso(now)).emit(
            state["root"], "ExecutionAborted", history.failure(error, cause)
        )
        _finish(state, "ABORTED", None, error, cause)
    return Step(state, events)


def _copy(state: ExecState) -> ExecState:
    # The definition is read-only and can be large: share it rather than copy it per step.
    copied = copy.deepcopy({k: v for k, v in state.items() if k != "definition"})
    if "definition" in state:
        copied["definition"] = state["definition"]
    return copied


def _emit_started(state: ExecState, events: list[dict[str, Any]]) -> None:
    started = state["context"]["Execution"]["StartTime"]
    details = {
        **history.entered("", state["context"]["Execution"]["Input"]),
        "roleArn": state["role_arn"],
    }
    del details["name"]
    Recorder(state["counter"], events, started).emit({}, "ExecutionStarted", details)
    state["started"] = True


def _conclude(state: ExecState, recorder: Recorder) -> None:
    root = state["root"]
    if root["status"] == "SUCCEEDED":
        recorder.emit(root, "ExecutionSucceeded", history.output(root["output"]))
        _finish(state, "SUCCEEDED", root["output"], None, None)
    elif root["status"] == "FAILED":
        details = history.failure(root.get("error"), root.get("cause"))
        recorder.emit(root, "ExecutionFailed", details)
        _finish(state, "FAILED", None, root.get("error"), root.get("cause"))


def _finish(state: ExecState, status: str, output: Any, error: Any, cause: Any) -> None:
    state.update(status=status, output=output, error=error, cause=cause)


def _unique(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for request in requests:
        key = request.get("id") or f"timer:{request.get('at')}"
        if key not in seen:
            seen.add(key)
            out.append(request)
    return out
