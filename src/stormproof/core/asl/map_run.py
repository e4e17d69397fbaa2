"""Distributed Map: every item (or batch) is a child execution of its own (a *Map Run*).

The interpreter does not run the children. It asks the runtime to start each one with an
``{"kind": "execution", ...}`` request, repeated on every ``advance`` until the child's
outcome comes back under the request's id (exactly like task requests), and counts the
outcomes against ``ToleratedFailureCount``/``ToleratedFailurePercentage``. At most
``MaxConcurrency`` children run at once (AWS's default for a distributed Map: 10,000).

A child's definition is the ``ItemProcessor`` block (:func:`child_definition`); its
state machine is called ``<machine>/<Label or state name>`` and its execution
``<execution name>-<request id>``, so the runtime can name it without asking. The
parent's history shows ``MapRunStarted`` and ``MapRunSucceeded``/``MapRunFailed``; each
child keeps its own history.

Redrive (:func:`prepare_redrive`): failed and aborted children are *redriven* (the same
child execution resumes at the state it failed in) under a fresh request id, so a late
outcome of the earlier attempt is never mistaken for the new one; succeeded children are
kept.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import history
from stormproof.core.asl.failure import TOLERATED_FAILURE, StatesError
from stormproof.core.asl.run_context import Env, Frame, Run

#: Children running at once when ``MaxConcurrency`` is 0 or absent (AWS's default).
DEFAULT_MAX_CONCURRENCY = 10_000
TOLERANCE_CAUSE = "The specified tolerated failure threshold was exceeded"


def map_run_arn(run: Run, frame: Frame) -> str:
    """The ARN of the Map Run of ``frame``'s Map state."""
    return f"{run.execution['context']['Execution']['Id']}:map-run/{frame['state']}"


def drive(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Collect finished children and launch new ones; True once every child has finished."""
    m = frame["map"]
    children: dict[str, dict[str, Any]] = frame["children"]
    for key in sorted(children, key=int):
        outcome = run.completed.get(children[key]["id"])
        if outcome is not None:
            _finished(frame, env, key, children.pop(key), outcome)
    limit = m["limit"] or DEFAULT_MAX_CONCURRENCY
    while m["next"] < len(m["inputs"]) and len(children) < limit:
        children[str(m["next"])] = {"id": _next_id(run.execution)}
        m["next"] += 1
    if m["finished"] == len(m["inputs"]):
        env.recorder.emit(frame, "MapRunSucceeded")
        return True
    for key in sorted(children, key=int):
        run.requests.append(_request(run, frame, state, key, children[key]))
    return False


def child_arn(parent_arn: str, request: dict[str, Any]) -> str:
    """The ARN of the child execution an ``execution`` request starts (or redrives)."""
    prefix = ":".join(parent_arn.split(":")[:5])  # arn:aws:states:<region>:<account>
    return f"{prefix}:execution:{request['machine']}:{request.get('redrive', request['name'])}"


def child_definition(definition: dict[str, Any], block: list[Any]) -> dict[str, Any]:
    """The state machine a child runs: the ``ItemProcessor`` at ``block`` of ``definition``."""
    node: Any = definition
    for key in block:
        node = node[key]
    child = {"StartAt": node["StartAt"], "States": node["States"]}
    if "QueryLanguage" in definition:
        child = {"QueryLanguage": definition["QueryLanguage"], **child}
    return child


def prepare_redrive(state: dict[str, Any], frame: Frame) -> None:
    """Redrive every failed or aborted child of the (restored) Map Run of ``frame``."""
    m = frame["map"]
    children: dict[str, dict[str, Any]] = frame["children"]
    for key, entry in list(children.items()):
        # Still running when the Map failed: the runtime stopped it; resume it.
        children[key] = {"id": _next_id(state), "redrive": entry.get("redrive", entry["id"])}
    for key, child_id in m.pop("failures", {}).items():
        children[key] = {"id": _next_id(state), "redrive": child_id}
        m["results"][int(key)] = None
        m["finished"] -= 1
        m["failed"] -= 1


def _next_id(execution: dict[str, Any]) -> str:
    sequence = int(execution.get("next_work_id", 1))
    execution["next_work_id"] = sequence + 1
    return f"child-{sequence}"


def _request(
    run: Run, frame: Frame, state: dict[str, Any], key: str, entry: dict[str, Any]
) -> dict[str, Any]:
    processor_key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
    processor = state.get(processor_key) or {}
    context = run.execution["context"]
    machine = f"{context['StateMachine']['Name']}/{state.get('Label') or frame['state']}"
    prefix = context["Execution"]["Name"]
    request: dict[str, Any] = {
        "kind": "execution",
        "id": entry["id"],
        "state": frame["state"],
        "index": int(key),
        "input": frame["map"]["inputs"][int(key)],
        "block": [*frame["block"], "States", frame["state"], processor_key],
        "machine": machine,
        "name": f"{prefix}-{entry['id']}",
        "map_run": frame["map"]["map_run"],
        "type": processor.get("ProcessorConfig", {}).get("ExecutionType", "STANDARD"),
    }
    if "redrive" in entry:
        request["redrive"] = f"{prefix}-{entry['redrive']}"
    return request


def _finished(frame: Frame, env: Env, key: str, entry: dict[str, Any], outcome: Any) -> None:
    m = frame["map"]
    m["finished"] += 1
    if "error" not in outcome:
        m["results"][int(key)] = outcome.get("output")
        return
    m["failed"] += 1
    m["results"][int(key)] = {"Error": outcome.get("error"), "Cause": outcome.get("cause")}
    m.setdefault("failures", {})[key] = entry.get("redrive", entry["id"])
    if _tolerance_exceeded(m):
        details = history.failure(TOLERATED_FAILURE, TOLERANCE_CAUSE)
        env.recorder.emit(frame, "MapRunFailed", details)
        raise StatesError(TOLERATED_FAILURE, TOLERANCE_CAUSE)


def _tolerance_exceeded(m: dict[str, Any]) -> bool:
    count, percentage = m["tolerated_count"], m["tolerated_percentage"]
    if count is None and percentage is None:
        return True
    over_count = count is not None and m["failed"] > count
    share = 100.0 * m["failed"] / max(1, len(m["inputs"]))
    over_percentage = percentage is not None and share > percentage
    if count is not None and percentage is not None:
        return over_count and over_percentage
    return over_count or over_percentage
