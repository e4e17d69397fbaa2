"""Leaving a state: the Exited event, variable assignment and the move to ``Next``."""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import history, json_text
from stormproof.core.asl.failure import DATA_LIMIT, StatesError
from stormproof.core.asl.run_context import Env, Frame, Run, new_frame

#: AWS's payload quota for a state's input or output (UTF-8 bytes).
MAX_PAYLOAD_BYTES = 262_144


def complete_state(
    run: Run,
    frame: Frame,
    state: dict[str, Any],
    env: Env,
    output: Any,
    assigned: dict[str, Any],
) -> None:
    """Emit ``<Type>StateExited``, commit variables, then go to ``Next`` or end the frame."""
    name = frame["state"]
    if len(json_text.dumps(output).encode()) > MAX_PAYLOAD_BYTES:
        raise StatesError(
            DATA_LIMIT,
            f"The state/task '{name}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
    env.recorder.emit(frame, f"{state['Type']}StateExited", history.exited(name, output, assigned))
    frame["vars"].update(assigned)
    if state.get("End") or state["Type"] == "Succeed" or "Next" not in state:
        finish_frame(frame, output)
    else:
        goto(frame, state["Next"], output)


def goto(frame: Frame, target: str, value: Any) -> None:
    """Make ``frame`` enter the state ``target`` with input ``value``."""
    fresh = new_frame(frame["block"], target, value, frame["last_event_id"])
    for key in list(frame):
        if key not in ("vars", "block", "last_event_id"):
            del frame[key]
    frame.update({k: v for k, v in fresh.items() if k not in ("vars", "last_event_id")})


def finish_frame(frame: Frame, output: Any) -> None:
    """The frame's block ended successfully with ``output``."""
    frame["status"] = "SUCCEEDED"
    frame["output"] = output
    _drop_running_keys(frame)


def fail_frame(frame: Frame, error: str | None, cause: str | None) -> None:
    """The frame's block failed with ``error``/``cause`` that nothing caught."""
    frame["status"] = "FAILED"
    frame["error"] = error
    frame["cause"] = cause
    _drop_running_keys(frame)


def _drop_running_keys(frame: Frame) -> None:
    # A finished frame keeps only its result, so persisted state stays small.
    for key in ("children", "map", "work", "wake_at", "phase"):
        frame.pop(key, None)
