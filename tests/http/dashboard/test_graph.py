"""The execution graph: layout from the definition, status from the history."""

from __future__ import annotations

from typing import Any

from stormproof.http.dashboard import graph

DEFINITION: dict[str, Any] = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {
            "Type": "Task",
            "Resource": "r",
            "Next": "Pick",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}],
        },
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Ship"}],
            "Default": "Stop",
        },
        "Ship": {"Type": "Task", "Resource": "s", "End": True},
        "Undo": {"Type": "Pass", "Next": "Stop"},
        "Stop": {"Type": "Fail"},
        "<img src=x onerror=alert(1)>": {"Type": "Pass", "End": True},
    },
}


def _entered(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def _exited(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}


def test_layers_follow_every_transition_from_start_at() -> None:
    rows = graph.layers(DEFINITION)
    assert rows[0] == ["Reserve"] and set(rows[1]) == {"Pick", "Undo"}
    assert set(rows[2]) == {"Ship", "Stop"}
    assert rows[-1] == ["<img src=x onerror=alert(1)>"]  # unreachable: drawn last


def test_statuses_succeeded_caught_failed_not_reached() -> None:
    history = [
        {"type": "ExecutionStarted"},
        _entered("Reserve"),
        {"type": "TaskFailed"},
        _exited("Reserve"),
        _entered("Undo", "Pass"),
        _exited("Undo", "Pass"),
        _entered("Stop", "Fail"),
        {"type": "ExecutionFailed"},
    ]
    status = graph.statuses(DEFINITION, history)
    assert status["Reserve"] == "caught" and status["Undo"] == "succeeded"
    assert status["Stop"] == "failed" and status["Ship"] == "not reached"


def test_a_running_state_and_the_svg_escapes_names() -> None:
    status = graph.statuses(DEFINITION, [_entered("Reserve")])
    assert status["Reserve"] == "running"
    drawing = graph.svg(DEFINITION, status)
    assert "<img" not in drawing and "&lt;img src=x" in drawing
    assert drawing.count('<g class="state"') == len(DEFINITION["States"])
    assert 'data-state="Reserve" data-status="running"' in drawing
    assert graph.svg({}, {}).startswith("<svg")  # an empty definition still draws
