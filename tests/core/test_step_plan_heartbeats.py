"""The runtime's pure step decisions about callback tasks: heartbeat deadlines, their
timer, a heartbeat moving the deadline on, and a missed heartbeat failing the task."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from stormproof.core.asl.interpreter import StartContext, start
from stormproof.core.step_plan import (
    StepPlan,
    heartbeat,
    new_runtime,
    plan_step,
    redrive,
    task_pending,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 10,
            "End": True,
        }
    },
}


def _first() -> tuple[StepPlan, str]:
    state = start(CALLBACK, {}, StartContext(NOW, execution_name="e", state_machine_name="m"))
    plan = plan_step(state, new_runtime(), NOW, random.Random(0), {})
    return plan, plan.dispatch[0]["id"]


def test_a_callback_task_sets_a_heartbeat_deadline_and_a_timer_for_it() -> None:
    plan, task_id = _first()
    assert plan.timer == NOW + timedelta(seconds=10)
    runtime = plan.runtime
    assert runtime["heartbeats"][task_id]["every"] == 10
    assert task_pending(runtime, task_id) and not task_pending(runtime, "other")


def test_a_heartbeat_moves_the_deadline_and_unknown_tasks_change_nothing() -> None:
    plan, task_id = _first()
    later = NOW + timedelta(seconds=7)
    moved = heartbeat(plan.runtime, task_id, later)
    assert moved is not None
    assert moved["heartbeats"][task_id]["at"].startswith("2026-01-01T00:00:17")
    assert heartbeat(plan.runtime, "nope", later) is None


def test_a_missed_heartbeat_fails_the_task_with_states_heartbeat_timeout() -> None:
    plan, _ = _first()
    at = plan.runtime["timer_at"]
    late = NOW + timedelta(seconds=11)
    failed = plan_step(plan.state, plan.runtime, late, random.Random(0), {}, [at])
    assert failed.status == "FAILED" and failed.finished
    assert failed.state["error"] == "States.HeartbeatTimeout"
    resumed, events = redrive(failed.state, late)
    assert resumed["status"] == "RUNNING" and events
