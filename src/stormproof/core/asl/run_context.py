"""What one ``advance`` call works with, and the frames it drives.

A *frame* is one thread of control running the states of one block (the top
level, one Map iteration or one Parallel branch). Frames are plain JSON
dicts nested inside the execution state, so the whole execution can be
persisted as one document and resumed anywhere.

Frame keys: ``block`` (path to the block in the definition), ``state``,
``input``, ``phase``, ``status`` (RUNNING / SUCCEEDED / FAILED), ``output``,
``error``, ``cause``, ``vars`` (variables assigned in this scope),
``retry_counts``, ``entered_event_id``, ``entered_time``, ``last_event_id``
and state-specific keys such as ``wake_at``, ``work`` or ``children``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stormproof.core.asl.history import Recorder
from stormproof.core.asl.random_source import RandomSource

Frame = dict[str, Any]

JSONPATH = "JSONPath"
JSONATA = "JSONata"


@dataclass
class Run:
    """The environment of one ``advance`` call (never persisted)."""

    definition: dict[str, Any]
    execution: dict[str, Any]
    now: datetime
    rng: RandomSource
    completed: dict[str, dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def now_iso(self) -> str:
        """``now`` as an ISO-8601 string with milliseconds, as AWS writes times."""
        return iso(self.now)

    def block(self, frame: Frame) -> dict[str, Any]:
        """The ``{"StartAt", "States"}`` object a frame runs."""
        node: Any = self.definition
        for key in frame["block"]:
            node = node[key]
        result: dict[str, Any] = node
        return result

    def state_of(self, frame: Frame) -> dict[str, Any]:
        """The definition of the state ``frame`` is in."""
        state: dict[str, Any] = self.block(frame)["States"][frame["state"]]
        return state

    def query_language(self, state: dict[str, Any]) -> str:
        """The state's query language (its own, else the machine's, else JSONPath)."""
        language: str = state.get("QueryLanguage") or self.definition.get("QueryLanguage", JSONPATH)
        return language


@dataclass
class Env:
    """What a frame inherits from its parent: visible variables and its history sink."""

    variables: dict[str, Any]
    recorder: Recorder
    #: ``engine.drive``, handed down so Map and Parallel run their children without
    #: importing the engine that imports them.
    drive: Callable[[Run, Frame, Env], None]

    def child(self, variables: dict[str, Any]) -> Env:
        """The environment of a child frame that sees ``variables`` on top of these."""
        return Env({**self.variables, **variables}, self.recorder, self.drive)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with milliseconds and a ``Z``."""
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def new_frame(block: list[Any], start: str, value: Any, last_event_id: int) -> Frame:
    """A frame about to enter ``start`` with input ``value``."""
    return {
        "block": block,
        "state": start,
        "input": value,
        "phase": "enter",
        "status": "RUNNING",
        "vars": {},
        "retry_counts": [],
        "last_event_id": last_event_id,
    }


def context_object(run: Run, frame: Frame) -> dict[str, Any]:
    """The ``$$`` context object for the state ``frame`` is in."""
    ctx: dict[str, Any] = {
        "Execution": run.execution["context"]["Execution"],
        "StateMachine": run.execution["context"]["StateMachine"],
        "State": {"Name": frame["state"], "EnteredTime": frame.get("entered_time")},
    }
    if any(frame.get("retry_counts", [])):
        ctx["State"]["RetryCount"] = sum(frame["retry_counts"])
    if frame.get("work", {}).get("token"):
        ctx["Task"] = {"Token": frame["work"]["token"]}
    return ctx
