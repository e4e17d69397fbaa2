"""History events in AWS's ``GetExecutionHistory`` shape.

Each event has ``id``, ``previousEventId``, ``timestamp``, ``type`` and, when
AWS has one, a ``...EventDetails`` object. Inputs and outputs are JSON text,
as AWS returns them. Ids come from a counter kept in the execution state so
they stay unique across ``advance`` calls and crashes.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import json_text

_TRUNCATED = {"truncated": False}


class Recorder:
    """Appends events to ``sink``, numbering them from ``counter["next_event_id"]``."""

    def __init__(self, counter: dict[str, Any], sink: list[dict[str, Any]], timestamp: str):
        self.counter = counter
        self.sink = sink
        self.timestamp = timestamp

    def emit(
        self, frame: dict[str, Any], event_type: str, details: dict[str, Any] | None = None
    ) -> int:
        """Record one event after ``frame``'s previous event; returns its id."""
        event_id = int(self.counter["next_event_id"])
        self.counter["next_event_id"] = event_id + 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": int(frame.get("last_event_id", 0)),
            "timestamp": self.timestamp,
            "type": event_type,
        }
        if details is not None:
            event[_details_key(event_type)] = details
        self.sink.append(event)
        frame["last_event_id"] = event_id
        return event_id


def _details_key(event_type: str) -> str:
    for suffix in ("StateEntered", "StateExited"):
        if event_type.endswith(suffix) and event_type[: -len(suffix)] in _STATE_TYPES:
            return (
                "stateEnteredEventDetails"
                if suffix == "StateEntered"
                else ("stateExitedEventDetails")
            )
    return event_type[0].lower() + event_type[1:] + "EventDetails"


_STATE_TYPES = {"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel"}


def entered(name: str, value: Any) -> dict[str, Any]:
    """Details of a ``...StateEntered`` event."""
    return {"name": name, "input": json_text.dumps(value), "inputDetails": dict(_TRUNCATED)}


def exited(name: str, value: Any, assigned: dict[str, Any] | None = None) -> dict[str, Any]:
    """Details of a ``...StateExited`` event, with the variables the state assigned."""
    details: dict[str, Any] = {
        "name": name,
        "output": json_text.dumps(value),
        "outputDetails": dict(_TRUNCATED),
    }
    if assigned:
        details["assignedVariables"] = {k: json_text.dumps(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = dict(_TRUNCATED)
    return details


def output(value: Any) -> dict[str, Any]:
    """Details carrying an output (``ExecutionSucceeded``, ``TaskSucceeded``)."""
    return {"output": json_text.dumps(value), "outputDetails": dict(_TRUNCATED)}


def failure(error: str | None, cause: str | None) -> dict[str, Any]:
    """Details carrying an error and a cause; absent ones are left out, as AWS does."""
    details: dict[str, Any] = {}
    if cause is not None:
        details["cause"] = cause
    if error is not None:
        details["error"] = error
    return details
