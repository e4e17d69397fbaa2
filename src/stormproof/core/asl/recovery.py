"""What happens when a state fails: evaluation event, Retry, Failed event, Catch.

Order (AWS): the ``EvaluationFailed`` event for JSONata errors; then the
first matching retrier (the state restarts after its backoff, with no Failed
event); otherwise the ``MapStateFailed``/``ParallelStateFailed`` event, and a
matching catcher sends the error output to its ``Next`` state. ``States.Runtime``
and ``States.DataLimitExceeded`` are never retried or caught. A Map or Parallel state
that fails for good keeps its progress for a redrive (:mod:`stormproof.core.asl.redrive`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stormproof.core.asl import history, redrive, retry, state_io
from stormproof.core.asl.failure import QUERY_EVALUATION, RUNTIME, StatesError
from stormproof.core.asl.run_context import Env, Frame, Run, iso
from stormproof.core.asl.transitions import fail_frame, goto

_RECOVERABLE_TYPES = ("Task", "Map", "Parallel")


def located_cause(frame: Frame, err: StatesError) -> str | None:
    """The cause as AWS reports it, with the state prefix for runtime errors."""
    if not err.located:
        return err.cause
    return (
        f"An error occurred while executing the state '{frame['state']}' "
        f"(entered at the event id #{frame.get('entered_event_id', 0)}). {err.cause}"
    )


def handle_failure(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, err: StatesError
) -> None:
    """Apply Retry, then Catch, else fail the frame."""
    cause = located_cause(frame, err)
    error = err.error
    if error == QUERY_EVALUATION:
        details = {**history.failure(error, cause), "state": frame["state"]}
        env.recorder.emit(frame, "EvaluationFailed", details)
    kind = state.get("Type")
    if kind in _RECOVERABLE_TYPES and _schedule_retry(run, frame, state, error):
        return
    if kind in ("Map", "Parallel") and error != RUNTIME:
        env.recorder.emit(frame, f"{kind}StateFailed")
    catcher = None
    if kind in _RECOVERABLE_TYPES:
        catcher = retry.find_catcher(state.get("Catch", []), error)
    if catcher is None:
        if kind in ("Map", "Parallel"):
            # A redrive re-runs only the failed or aborted iterations and branches (AWS).
            redrive.save_progress(frame)
        fail_frame(frame, error, cause)
        return
    _catch(run, frame, state, env, catcher, {"Error": error, "Cause": cause})


def _schedule_retry(run: Run, frame: Frame, state: dict[str, Any], error: str | None) -> bool:
    retriers = state.get("Retry", [])
    counts = frame.setdefault("retry_counts", [0] * len(retriers))
    decision = retry.decide_retry(retriers, counts, error, run.rng)
    if decision is None:
        return False
    counts[decision.index] = decision.attempt
    frame["phase"] = "retry"
    frame["wake_at"] = iso(run.now + timedelta(seconds=decision.delay))
    for key in ("children", "map", "work"):
        frame.pop(key, None)
    return True


def _catch(
    run: Run,
    frame: Frame,
    state: dict[str, Any],
    env: Env,
    catcher: dict[str, Any],
    error_output: dict[str, Any],
) -> None:
    if error_output["Cause"] is None:
        error_output = {"Error": error_output["Error"]}
    try:
        output, assigned = state_io.catcher_output(run, frame, state, env, catcher, error_output)
    except StatesError as err:
        fail_frame(frame, err.error, located_cause(frame, err))
        return
    name = frame["state"]
    env.recorder.emit(frame, f"{state['Type']}StateExited", history.exited(name, output, assigned))
    frame["vars"].update(assigned)
    goto(frame, catcher["Next"], output)
