"""A worker app for the SIGKILL test: two Tasks; the second hangs while SP_TEST_HANG=1.

Each task call appends ``<step>`` to the file ``SP_TEST_LOG``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from stormproof import App

app = App("crash-machines")


def step(event: Any) -> Any:
    """Record the call; hang in step 2 when asked (the test kills the worker then)."""
    with open(os.environ["SP_TEST_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{event['step']}\n")
    if event["step"] == 2 and os.environ.get("SP_TEST_HANG") == "1":
        time.sleep(3600)
    return {"done": event["step"]}


DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ok", "ResultPath": "$.prepared", "Next": "One"},
        "One": {
            "Type": "Task",
            "Resource": "step",
            "Parameters": {"step": 1},
            "ResultPath": "$.one",
            "Next": "Two",
        },
        "Two": {
            "Type": "Task",
            "Resource": "step",
            "Parameters": {"step": 2},
            "ResultPath": "$.two",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}

app.state_machine("Crash", DEFINITION, resources={"step": step})
app.executions.tasks.visibility = 2.0
