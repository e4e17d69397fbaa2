"""Parallel: every branch runs as a nested frame on a copy of the effective input.

The output is the array of branch outputs in branch order. The first branch
to fail fails the state; the other branches stop (their pending work requests
simply stop being issued). The branches are kept for a redrive, which re-runs
only the failed and stopped ones (:mod:`stormproof.core.asl.redrive`).
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import state_io
from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.run_context import Env, Frame, Run, new_frame
from stormproof.core.asl.transitions import complete_state


def run_parallel(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Start the branches (first call), then drive them until all finish or one fails."""
    if "children" not in frame:
        _start(run, frame, state, env)
    child_env = env.child(frame["vars"])
    for child in frame["children"]:
        if child["status"] == "RUNNING":
            env.drive(run, child, child_env)
        if child["status"] == "FAILED":
            raise StatesError(child.get("error"), child.get("cause"))
    if any(child["status"] == "RUNNING" for child in frame["children"]):
        return False
    env.recorder.emit(frame, "ParallelStateSucceeded")
    results = [child["output"] for child in frame["children"]]
    output, assigned = state_io.state_output(run, frame, state, env, results)
    complete_state(run, frame, state, env, output, assigned)
    return True


def _start(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> None:
    value = state_io.state_input(run, frame, state, env)
    env.recorder.emit(frame, "ParallelStateStarted")
    base = [*frame["block"], "States", frame["state"], "Branches"]
    frame["children"] = [
        new_frame([*base, i], branch["StartAt"], value, frame["last_event_id"])
        for i, branch in enumerate(state.get("Branches", []))
    ]
