"""Wait: a durable timer, never a sleep.

Entering the state computes the wake-up time and stores it in the frame; the
frame then blocks with a timer request until ``advance`` is called with
``now`` at or after that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl import choice, jsonpath_io, state_io
from stormproof.core.asl.failure import StatesError, evaluation_error, runtime_error
from stormproof.core.asl.paths import PathError
from stormproof.core.asl.run_context import Env, Frame, Run, iso
from stormproof.core.asl.transitions import complete_state

#: AWS rejects delays that do not fit in a signed 32-bit number of seconds.
MAX_DELAY_SECONDS = 2**31 - 1


def run_wait(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> bool:
    """Start the timer (first call) or finish the state once it has fired."""
    if "wake_at" not in frame:
        wake = _wake_time(run, frame, state, env)
        if (wake - run.now).total_seconds() > MAX_DELAY_SECONDS:
            raise runtime_error("Wait state delay is too long.")
        frame["wake_at"] = iso(wake)
    if run.now < datetime.fromisoformat(frame["wake_at"]):
        run.requests.append({"kind": "timer", "at": frame["wake_at"]})
        return False
    output, assigned = state_io.state_output(
        run, frame, state, env, _effective(run, frame, state, env)
    )
    complete_state(run, frame, state, env, output, assigned)
    return True


def _effective(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> Any:
    if state_io.is_jsonata(run, state):
        return frame["input"]
    sc = state_io.scope(run, frame, env, None)
    return jsonpath_io.apply_path(state.get("InputPath", "$"), frame["input"], sc)


def _wake_time(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> datetime:
    if state_io.is_jsonata(run, state):
        return _jsonata_wake(run, frame, state, env)
    if "Seconds" in state:
        return run.now + timedelta(seconds=int(state["Seconds"]))
    if "Timestamp" in state:
        return _timestamp(state["Timestamp"], runtime_error, "The Timestamp field")
    sc = state_io.scope(run, frame, env, _effective(run, frame, state, env))
    if "SecondsPath" in state:
        return run.now + timedelta(seconds=_seconds_from_path(sc, state["SecondsPath"]))
    path = state.get("TimestampPath", "$")
    value = _lookup(sc, path, "TimestampPath")
    parsed = choice.parse_timestamp(value)
    if parsed is None:
        raise runtime_error(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {path} == {value}"
        )
    return parsed


def _lookup(sc: jsonpath_io.Scope, path: str, field: str) -> Any:
    try:
        return sc.select(path)
    except PathError as exc:
        raise runtime_error(
            f"The {field} parameter does not reference an input value: {path}"
        ) from exc


def _seconds_from_path(sc: jsonpath_io.Scope, path: str) -> int:
    value = _lookup(sc, path, "SecondsPath")
    if isinstance(value, bool) or not isinstance(value, int):
        raise runtime_error(
            f"The SecondsPath parameter cannot be parsed as a long value: {path} == {value}"
        )
    if value < 0:
        raise runtime_error(
            f"The SecondsPath parameter references a negative value: {path} == {value}"
        )
    return value


def _timestamp(value: Any, make_error: Any, what: str) -> datetime:
    parsed = choice.parse_timestamp(value)
    if parsed is None:
        error: StatesError = make_error(
            f"{what} cannot be parsed as an ISO-8601 extended offset date-time format string: "
            f"{value}"
        )
        raise error
    return parsed


def _jsonata_wake(run: Run, frame: Frame, state: dict[str, Any], env: Env) -> datetime:
    if "Seconds" in state:
        seconds = state_io.evaluate(run, frame, env, state["Seconds"], "Seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise evaluation_error(
                f"The Seconds field must be a non-negative integer, but was: {seconds}"
            )
        return run.now + timedelta(seconds=seconds)
    value = state_io.evaluate(run, frame, env, state.get("Timestamp"), "Timestamp")
    return _timestamp(value, evaluation_error, "The Timestamp field")
