"""The runtime's pure step decisions: one message per request, children started and stopped."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stormproof.core.asl.interpreter import StartContext, start
from stormproof.core.step_plan import INLINE, new_runtime, plan_abort, plan_step

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


TWO_TASKS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Resource": "f", "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "f", "ResultPath": "$.b", "End": True},
    },
}


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=5))
def test_the_inline_mark_lasts_while_its_task_is_pending(replays: int) -> None:
    first = plan_step(started(TWO_TASKS, {}), new_runtime(), NOW, random.Random(0), {})
    [a] = first.dispatch
    assert first.pending == [a]
    runtime = {**first.runtime, INLINE: a["id"]}
    state = first.state
    for _ in range(replays):  # other steps (timers, other branches) keep the mark
        replay = plan_step(state, runtime, NOW, random.Random(0), {})
        assert replay.dispatch == [] and replay.runtime[INLINE] == a["id"]
        state, runtime = replay.state, replay.runtime
    done = plan_step(state, runtime, NOW, random.Random(0), {a["id"]: {"output": 1}})
    assert INLINE not in done.runtime and [r["resource"] for r in done.dispatch] == ["f"]


def test_an_owned_state_plans_as_a_copied_one() -> None:
    first = plan_step(started(TWO_TASKS, {"x": 1}), new_runtime(), NOW, random.Random(0), {})
    work = {first.dispatch[0]["id"]: {"output": 7}}
    state_text = json.dumps({k: v for k, v in first.state.items() if k != "definition"})
    copied = plan_step(first.state, first.runtime, NOW, random.Random(0), work)
    owned_state = {**json.loads(state_text), "definition": first.state["definition"]}
    owned = plan_step(owned_state, first.runtime, NOW, random.Random(0), work, owned=True)
    assert json.dumps(first.state, default=str).count('"a"') == 0  # the copy left it as is
    assert (owned.state, owned.events, owned.runtime) == (
        copied.state,
        copied.events,
        copied.runtime,
    )
