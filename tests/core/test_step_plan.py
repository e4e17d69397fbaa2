"""The runtime's pure step decisions: one message per request, children started and stopped."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from stormproof.core.asl.interpreter import StartContext, start
from stormproof.core.step_plan import new_runtime, plan_abort, plan_step

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PARENT = "arn:aws:states:us-east-1:111111111111:execution:Orders:run1"


def fan_out(**map_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
                **map_fields,
            }
        },
    }


def started(definition: dict[str, Any], value: Any) -> dict[str, Any]:
    context = StartContext(NOW, execution_name="run1", state_machine_name="Orders")
    return start(definition, value, context)


def test_each_child_is_spawned_once_and_remembered_by_arn() -> None:
    first = plan_step(started(fan_out(), [1, 2]), new_runtime(), NOW, random.Random(0), {})
    assert [r["index"] for r in first.spawn] == [0, 1]
    arns = first.runtime["children"]
    assert sorted(arns.values()) == sorted(
        f"arn:aws:states:us-east-1:111111111111:execution:Orders/Fan:run1-{r['id']}"
        for r in first.spawn
    )
    assert arns and all(a.startswith(PARENT.rsplit(":", 2)[0]) for a in arns.values())
    later = NOW + timedelta(seconds=1)
    again = plan_step(first.state, first.runtime, later, random.Random(0), {})
    assert again.spawn == [] and again.stop == []
    one = first.spawn[0]["id"]
    answered = plan_step(first.state, first.runtime, later, random.Random(0), {one: {"output": 1}})
    assert answered.stop == [] and one not in answered.runtime["children"]


def test_children_nobody_waits_for_are_stopped() -> None:
    first = plan_step(started(fan_out(), [1, 2, 3]), new_runtime(), NOW, random.Random(0), {})
    ids = [r["id"] for r in first.spawn]
    failed = plan_step(
        first.state, first.runtime, NOW, random.Random(0), {ids[0]: {"error": "Boom"}}
    )
    assert failed.status == "FAILED"
    arns = first.runtime["children"]
    assert sorted(failed.stop) == sorted((arns[i], i) for i in ids[1:])
    assert failed.runtime == new_runtime()


def test_stopping_the_parent_stops_every_running_child() -> None:
    first = plan_step(started(fan_out(), [1, 2]), new_runtime(), NOW, random.Random(0), {})
    aborted = plan_abort(first.state, NOW, "Stop", None, first.runtime)
    assert aborted.status == "ABORTED"
    assert sorted(aborted.stop) == sorted((a, i) for i, a in first.runtime["children"].items())
