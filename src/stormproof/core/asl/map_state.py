"""Map: run the item processor once per item.

INLINE iterations are nested frames of this execution; their events
(``MapIterationStarted``...) go into its history. DISTRIBUTED iterations are child
executions of their own (:mod:`stormproof.core.asl.map_run`).
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import map_run, map_settings, state_io
from stormproof.core.asl.failure import StatesError, runtime_error
from stormproof.core.asl.jsonpath_io import apply_path
from stormproof.core.asl.map_items import child_inputs
from stormproof.core.asl.run_context import Env, Frame, Run, new_frame
from stormproof.core.asl.transitions import complete_state


def run_map(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Start the Map (first call), then drive its iterations until all finish."""
    if "map" not in frame and not _start(run, frame, state, env):
        return False
    if frame["map"]["distributed"]:
        if not map_run.drive(run, frame, state, env):
            return False
        _succeed(run, frame, state, env)
        return True
    return _drive(run, frame, state, env)


def _distributed(state: dict[str, Any]) -> bool:
    processor = state.get("ItemProcessor") or state.get("Iterator") or {}
    return bool(processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED")


def _start(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    effective = frame["input"]
    if not state_io.is_jsonata(run, state):
        sc = state_io.scope(run, frame, env, None)
        effective = apply_path(state.get("InputPath", "$"), frame["input"], sc)
    values = map_settings.items(run, frame, state, env, effective)
    limit = map_settings.integer_setting(run, frame, state, env, "MaxConcurrency", effective)
    if limit is not None and limit < 0:
        # AWS leaves such an execution running forever; so do we (no request, no event).
        return False
    env.recorder.emit(frame, "MapStateStarted", {"length": len(values)})
    count = map_settings.integer_setting(run, frame, state, env, "ToleratedFailureCount", effective)
    if count is not None and count < 0:
        raise runtime_error("ToleratedFailureCount cannot be negative.")
    percentage = map_settings.percentage_setting(run, frame, state, env, effective)
    distributed = _distributed(state)
    if distributed:
        arn = map_run.map_run_arn(run, frame)
        env.recorder.emit(frame, "MapRunStarted", {"mapRunArn": arn})
    inputs = child_inputs(run, frame, state, env, effective, values)
    frame["map"] = {
        "inputs": inputs,
        "next": 0,
        "results": [None] * len(inputs),
        "finished": 0,
        "failed": 0,
        "limit": limit or 0,
        "distributed": distributed,
        "tolerated_count": count,
        "tolerated_percentage": percentage,
    }
    if distributed:
        frame["map"]["map_run"] = arn
    frame["children"] = {}
    return True


def _processor_block(frame: Frame, state: dict[str, Any]) -> list[Any]:
    key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
    return [*frame["block"], "States", frame["state"], key]


def _launch(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> str:
    m = frame["map"]
    index = m["next"]
    m["next"] = index + 1
    block = _processor_block(frame, state)
    processor = run.definition
    for key in block:
        processor = processor[key]
    env.recorder.emit(frame, "MapIterationStarted", {"index": index, "name": frame["state"]})
    child = new_frame(block, processor["StartAt"], m["inputs"][index], frame["last_event_id"])
    frame["children"][str(index)] = child
    return str(index)


def _child_env(frame: Frame, env: Env) -> Env:
    return env.child(frame["vars"])


def _drive(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    m = frame["map"]
    while True:
        progressed = False
        for key in sorted(frame["children"], key=int):
            progressed |= _drive_child(run, frame, env, key)
        limit = m["limit"]
        while m["next"] < len(m["inputs"]) and (limit <= 0 or len(frame["children"]) < limit):
            # Launch and run each new iteration straight away: a deterministic
            # order that matches AWS's histories for iterations that never block.
            key = _launch(run, frame, state, env)
            progressed |= _drive_child(run, frame, env, key)
        if m["finished"] == len(m["inputs"]):
            _succeed(run, frame, state, env)
            return True
        if not progressed:
            return False


def _drive_child(run: Run, frame: Frame, env: Env, key: str) -> bool:
    child = frame["children"][key]
    env.drive(run, child, _child_env(frame, env))
    if child["status"] == "RUNNING":
        return False
    _child_finished(frame, env, int(key), child)
    return True


def _child_finished(frame: Frame, env: Env, index: int, child: Frame) -> None:
    m = frame["map"]
    details = {"index": index, "name": frame["state"]}
    if child["status"] == "SUCCEEDED":
        # Only successes leave the children and count as finished: a failed iteration
        # stays, with the running ones, for a redrive to re-run (see core.asl.redrive).
        del frame["children"][str(index)]
        m["finished"] += 1
        m["results"][index] = child["output"]
        env.recorder.emit(frame, "MapIterationSucceeded", details)
        return
    env.recorder.emit(frame, "MapIterationFailed", details)
    raise StatesError(child.get("error"), child.get("cause"))


def _succeed(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> None:
    m = frame["map"]
    env.recorder.emit(frame, "MapStateSucceeded")
    results = m["results"]
    output, assigned = state_io.state_output(run, frame, state, env, results)
    complete_state(run, frame, state, env, output, assigned)
