"""``RedriveExecution``: resume a FAILED, TIMED_OUT or ABORTED execution where it stopped.

AWS continues the execution from the unsuccessful step with the same input, and does not
run the successful steps again; an inline Map or a Parallel state redrives only the
iterations and branches that failed or were aborted. So a redrive is recursive over the
frame tree (see :mod:`stormproof.core.asl.run_context`):

- a frame that failed, or was still running when the execution closed, re-enters its
  current state (``phase="enter"``, fresh retry counters, no in-flight work or timer);
- if that state is a Map or Parallel, its progress is restored so the handler resumes
  instead of starting over: succeeded iterations and branches keep their outputs, failed
  and still-running ones are redriven the same way, and un-launched Map iterations launch
  as usual. A distributed Map's children are child executions, not frames: the restored
  Map Run is handed to :func:`stormproof.core.asl.map_run.prepare_redrive`.

A running frame holds its progress in ``map``/``children``; a frame whose Map or Parallel
state failed keeps it under ``redrive`` (:func:`save_progress`), because a finished frame
otherwise drops those keys.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from stormproof.core.asl.history import Recorder
from stormproof.core.asl.run_context import Frame, iso

ExecState = dict[str, Any]

#: What a frame keeps when it re-enters its state: where it is, its input and its scope.
_KEEP = ("block", "state", "input", "vars", "last_event_id")


def save_progress(frame: Frame) -> None:
    """Keep what a redrive of ``frame``'s failing Map or Parallel state needs.

    Called when the state fails with no catcher, before the frame drops its running keys.
    Succeeded Parallel branches are reduced to their output; an inline Map already holds
    the outputs of its succeeded iterations in ``map["results"]`` and keeps only the
    failed and running ones among its children.
    """
    if "children" not in frame:
        return  # failed before it started its iterations or branches: nothing to keep
    children = frame["children"]
    if isinstance(children, list):
        children = [_compact(child) for child in children]
    saved: dict[str, Any] = {"children": children}
    if "map" in frame:
        saved["map"] = frame["map"]
    frame["redrive"] = saved


def _compact(child: Frame) -> Frame:
    if child["status"] == "SUCCEEDED":
        return {"status": "SUCCEEDED", "output": child.get("output")}
    return child


def redrive_state(state: ExecState, now: datetime) -> tuple[ExecState, list[dict[str, Any]]]:
    """The redriven copy of ``state`` and its ``ExecutionRedriven`` event (``state`` is kept).

    The execution's ``RedriveCount`` goes up and its ``TimeoutSeconds`` counts from ``now``.
    """
    definition = state.get("definition")
    state = copy.deepcopy({k: v for k, v in state.items() if k != "definition"})
    state["definition"] = definition  # read-only and possibly large: shared, not copied
    execution = state["context"]["Execution"]
    count = int(execution.get("RedriveCount", 0)) + 1
    execution["RedriveCount"] = count
    state.update(status="RUNNING", output=None, error=None, cause=None)
    timeout = state["definition"].get("TimeoutSeconds")
    if timeout is not None:
        state["deadline"] = iso(now + timedelta(seconds=int(timeout)))
    events: list[dict[str, Any]] = []
    root = state["root"]
    Recorder(state["counter"], events, iso(now)).emit(
        root, "ExecutionRedriven", {"redriveCount": count}
    )
    redrive_frame(state, root)
    return state, events


def redrive_frame(state: ExecState, frame: Frame) -> None:
    """Make ``frame`` re-enter its current state, resuming a Map's or Parallel's progress."""
    progress = _progress(frame)
    for key in [k for k in frame if k not in _KEEP]:
        del frame[key]
    frame.update(status="RUNNING", phase="enter", retry_counts=[])
    if progress is None:
        return
    frame["children"] = progress["children"]
    if "map" in progress:
        frame["map"] = progress["map"]
        if frame["map"].get("distributed"):
            # Imported here: map_run belongs to the state handlers, which import this module.
            from stormproof.core.asl import map_run

            map_run.prepare_redrive(state, frame)
            return
    children = frame["children"]
    for child in children.values() if isinstance(children, dict) else children:
        if child["status"] != "SUCCEEDED":
            redrive_frame(state, child)


def _progress(frame: Frame) -> dict[str, Any] | None:
    """The saved progress of a failed frame, or the live one of a still-running frame."""
    if frame["status"] != "RUNNING":
        saved: dict[str, Any] | None = frame.get("redrive")
        return saved
    if "children" not in frame:
        return None
    live = {"children": frame["children"]}
    if "map" in frame:
        live["map"] = frame["map"]
    return live
