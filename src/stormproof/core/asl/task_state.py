"""Task: ask the runtime to run work, then process its result or error.

Entering the state schedules the work: the frame records a work id and a
deadline (``TimeoutSeconds``) and ``advance`` returns a task request. The
runtime runs the task and calls ``advance`` again with the outcome keyed by
that id: ``{"output": ...}`` or ``{"error": ..., "cause": ...}``. A heartbeat
timeout is reported by the runtime as the error ``States.HeartbeatTimeout``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl import history, json_text, state_io
from stormproof.core.asl.failure import HEARTBEAT_TIMEOUT, TIMEOUT, StatesError, runtime_error
from stormproof.core.asl.jsonpath_io import select_field
from stormproof.core.asl.run_context import Env, Frame, Run, iso
from stormproof.core.asl.transitions import complete_state

#: AWS's default task timeout.
DEFAULT_TIMEOUT_SECONDS = 99_999_999


def run_task(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Schedule the task (first call), then wait for and apply its outcome."""
    if "work" not in frame:
        _schedule(run, frame, state, env)
    work = frame["work"]
    outcome = run.completed.get(work["id"])
    if outcome is not None:
        return _apply_outcome(run, frame, state, env, outcome)
    if run.now >= datetime.fromisoformat(work["deadline"]):
        details = {**_resource(state), **history.failure(TIMEOUT, None)}
        env.recorder.emit(frame, "TaskTimedOut", details)
        raise StatesError(TIMEOUT, None)
    run.requests.append(_request(frame, state))
    run.requests.append({"kind": "timer", "at": work["deadline"]})
    return False


def _schedule(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> None:
    sequence = int(run.execution.get("next_work_id", 1))
    run.execution["next_work_id"] = sequence + 1
    work: dict[str, Any] = {"id": f"task-{sequence}"}
    if str(state.get("Resource", "")).endswith(".waitForTaskToken"):
        # The token must exist before Parameters run: they may read $$.Task.Token.
        work["token"] = f"{run.execution['context']['Execution']['Id']}:{work['id']}"
    frame["work"] = work
    value = state_io.state_input(run, frame, state, env)
    timeout = _seconds(run, frame, state, env, "TimeoutSeconds") or DEFAULT_TIMEOUT_SECONDS
    heartbeat = _seconds(run, frame, state, env, "HeartbeatSeconds")
    work.update(
        input=value,
        timeout_seconds=timeout,
        heartbeat_seconds=heartbeat,
        deadline=iso(run.now + timedelta(seconds=timeout)),
    )
    details: dict[str, Any] = {
        **_resource(state),
        "parameters": json_text.dumps(value),
        "timeoutInSeconds": timeout,
    }
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    env.recorder.emit(frame, "TaskScheduled", details)
    env.recorder.emit(frame, "TaskStarted", _resource(state))


def _seconds(run: Run, frame: Frame, state: dict[str, Any], env: Env, name: str) -> int | None:
    if name in state:
        value = state[name]
        if state_io.is_jsonata(run, state):
            value = state_io.evaluate(run, frame, env, value, name)
    elif f"{name}Path" in state:
        sc = state_io.scope(run, frame, env, frame["input"])
        value = select_field(sc, state[f"{name}Path"], f"{name}Path")
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise runtime_error(f"The {name} value must be a positive integer, but was: {value}")
    return value


def _resource(state: dict[str, Any]) -> dict[str, Any]:
    resource = str(state.get("Resource", ""))
    parts = resource.split(":")
    if resource.startswith("arn:") and len(parts) >= 7:
        return {"resource": ":".join(parts[6:]), "resourceType": parts[5]}
    return {"resource": resource, "resourceType": "function"}


def _request(frame: Frame, state: dict[str, Any]) -> dict[str, Any]:
    work = frame["work"]
    return {
        "kind": "task",
        "id": work["id"],
        "resource": state.get("Resource"),
        "input": work["input"],
        "timeout_seconds": work["timeout_seconds"],
        "heartbeat_seconds": work["heartbeat_seconds"],
        "token": work.get("token"),
        "state": frame["state"],
    }


def _apply_outcome(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, outcome: dict[str, Any]
) -> bool:
    if "error" in outcome:
        error, cause = outcome.get("error"), outcome.get("cause")
        # A missed heartbeat is a timeout in AWS's history, not a failure of the task.
        kind = "TaskTimedOut" if error == HEARTBEAT_TIMEOUT else "TaskFailed"
        env.recorder.emit(frame, kind, {**_resource(state), **history.failure(error, cause)})
        raise StatesError(error, cause)
    result = outcome.get("output")
    env.recorder.emit(frame, "TaskSucceeded", {**_resource(state), **history.output(result)})
    output, assigned = state_io.state_output(run, frame, state, env, result)
    complete_state(run, frame, state, env, output, assigned)
    return True
