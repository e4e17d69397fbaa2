"""A worker app for the distributed-Map SIGKILL test: 40 items, each a child execution.

Each item's task appends the item to the file ``SP_TEST_LOG`` and takes a little while,
so a worker killed mid-run holds claimed steps and tasks of several children.
"""

from __future__ import annotations

import os
import time
from typing import Any

from stormproof import App

app = App("crash-map")


def work(item: Any) -> Any:
    """Record the call, then take 20 ms (so kills land mid-task)."""
    with open(os.environ["SP_TEST_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{item}\n")
    time.sleep(0.02)
    return item * 2


DEFINITION = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "MaxConcurrency": 8,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "work", "End": True}},
            },
            "End": True,
        }
    },
}

app.state_machine("CrashMap", DEFINITION, resources={"work": work})
# Short leases, so the killed worker's claimed steps and tasks reappear quickly.
app.executions.tasks.visibility = 2.0
app.executions.steps.visibility = 2.0
