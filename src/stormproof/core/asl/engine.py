"""Driving a frame: enter states, dispatch to their handlers, recover from failures.

:func:`drive` runs one frame until it finishes or blocks on a timer, a task
or its children. Pass, Choice, Succeed and Fail never block, so consecutive
ones run in a single ``advance`` call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stormproof.core.asl import history, recovery
from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.flow_states import run_choice, run_fail, run_pass, run_succeed
from stormproof.core.asl.map_state import run_map
from stormproof.core.asl.parallel_state import run_parallel
from stormproof.core.asl.run_context import Env, Frame, Run
from stormproof.core.asl.task_state import run_task
from stormproof.core.asl.transitions import fail_frame
from stormproof.core.asl.wait_state import run_wait

Handler = Callable[[Run, Frame, dict[str, Any], Env], bool]

HANDLERS: dict[str, Handler] = {
    "Pass": run_pass,
    "Choice": run_choice,
    "Succeed": run_succeed,
    "Fail": run_fail,
    "Wait": run_wait,
    "Task": run_task,
    "Map": run_map,
    "Parallel": run_parallel,
}

#: AWS fails an execution whose history reaches this many events.
MAX_HISTORY_EVENTS = 25_000


def drive(run: Run, frame: Frame, env: Env) -> None:
    """Run ``frame`` until it finishes or has to wait for something external."""
    while frame["status"] == "RUNNING":
        if int(env.recorder.counter["next_event_id"]) > MAX_HISTORY_EVENTS:
            fail_frame(frame, "States.Runtime", "The execution history exceeded 25000 events.")
            return
        if not step(run, frame, env):
            return


def step(run: Run, frame: Frame, env: Env) -> bool:
    """One move of ``frame``; False when it is blocked."""
    state = run.state_of(frame)
    try:
        if frame["phase"] == "enter":
            _enter(run, frame, state, env)
        if frame["phase"] == "retry":
            if run.now < datetime.fromisoformat(frame["wake_at"]):
                run.requests.append({"kind": "timer", "at": frame["wake_at"]})
                return False
            del frame["wake_at"]
            frame["phase"] = "run"
        return HANDLERS[state["Type"]](run, frame, state, env)
    except StatesError as err:
        recovery.handle_failure(run, frame, state, env, err)
        return True


def _enter(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> None:
    details = history.entered(frame["state"], frame["input"])
    frame["entered_event_id"] = env.recorder.emit(frame, f"{state['Type']}StateEntered", details)
    frame["entered_time"] = run.now_iso
    frame["retry_counts"] = [0] * len(state.get("Retry", []))
    frame["phase"] = "run"
