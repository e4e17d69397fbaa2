"""Durable executions on both stores: the execution API, tasks, callbacks, timers, redrive."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidAttribute,
    InvalidDefinition,
    TaskDoesNotExist,
)
from stormproof.machines.definitions import validate
from stormproof.machines.step_messages import STEPS_QUEUE
from stormproof.testing import FakeClock

PASS_CHOICE = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.n", "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Done"}],
            "Default": "Bump",
        },
        "Bump": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)", "tag.$": "$.tag"},
            "Next": "Check",
        },
        "Done": {"Type": "Succeed"},
    },
}


def task_machine(resource: str, **extra: Any) -> dict[str, Any]:
    """One Task state with ``extra`` fields."""
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **extra}},
    }


async def closed(app: App, arn: str, timeout: float = 20.0) -> Any:
    """Wait (polling) until the execution is no longer RUNNING."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await app.describe_execution(arn)
        if info.status != "RUNNING":
            return info
        assert asyncio.get_running_loop().time() < deadline, f"still running: {info}"
        await asyncio.sleep(0.01)


async def reached(app: App, arn: str, event_type: str, timeout: float = 20.0) -> None:
    """Wait (polling) until the execution's history has an event of ``event_type``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while event_type not in [e["type"] for e in await app.get_execution_history(arn)]:
        assert asyncio.get_running_loop().time() < deadline, f"never reached {event_type}"
        await asyncio.sleep(0.01)


async def test_pass_choice_machine_succeeds_with_history(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    app.state_machine("Count", PASS_CHOICE)
    async with app:
        arn = await app.start_execution("Count", {"tag": "x"})
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED" and info.output == {"n": 3, "tag": "x"}
        assert info.arn.endswith(":execution:Count:" + info.name)
        history = await app.get_execution_history(arn)
        types = [e["type"] for e in history]
        assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
        assert types.count("ChoiceStateEntered") == 4
        assert [e["id"] for e in history] == list(range(1, len(history) + 1))
        assert (await app.get_execution_history(arn, reverse=True))[0][
            "type"
        ] == "ExecutionSucceeded"
        listed = await app.list_executions("Count")
        assert [i.arn for i in listed] == [arn]
        assert await app.list_executions(status="FAILED") == []
        assert info.as_dict()["status"] == "SUCCEEDED"


async def test_execution_names_are_unique_per_machine(store_url: str) -> None:
    app = App("m", store_url, clock=FakeClock(), consume=True)
    app.state_machine(
        "W", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    async with app:
        first = await app.start_execution("W", {"a": 1}, name="order-1")
        assert await app.start_execution("W", {"a": 1}, name="order-1") == first
        with pytest.raises(ExecutionAlreadyExists):
            await app.start_execution("W", {"a": 2}, name="order-1")
        await app.stop_execution(first, error="Cancelled", cause="by test")
        with pytest.raises(ExecutionAlreadyExists):
            await app.start_execution("W", {"a": 1}, name="order-1")
        info = await app.describe_execution(first)
        assert (info.status, info.error, info.cause) == ("ABORTED", "Cancelled", "by test")
        assert (await app.get_execution_history(first))[-1]["type"] == "ExecutionAborted"


async def test_bad_input_is_rejected_before_anything_is_stored(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    app.state_machine("P", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    async with app:
        with pytest.raises(InvalidAttribute, match="262144 bytes"):
            await app.start_execution("P", {"big": "x" * 262_144})
        with pytest.raises(InvalidAttribute):
            await app.start_execution("P", {}, name="bad name")
        with pytest.raises(ExecutionDoesNotExist):
            await app.describe_execution("arn:aws:states:us-east-1:1:execution:P:nope")
        assert await app.list_executions() == []


def test_invalid_definitions_fail_when_defined(tmp_path: Any) -> None:
    app = App("m", f"sqlite:///{tmp_path}/m.db", consume=True)
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(InvalidDefinition) as err:
        app.state_machine("Bad", bad)
    assert err.value.problems and err.value.problems[0][0].startswith("$.States.A")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InvalidDefinition):
        validate(str(path))
    validate(PASS_CHOICE)


async def test_function_tasks_and_python_errors(store_url: str) -> None:
    app = App("m", store_url, consume=True)

    @app.function(timeout=5)
    def reserve(event: Any, context: Any) -> Any:
        if event.get("fail"):
            raise ValueError("no seats left")
        return {"seat": "12A", "for": event["who"]}

    machine = {
        "StartAt": "Direct",
        "States": {
            "Direct": {
                "Type": "Task",
                "Resource": "reserve",
                "ResultPath": "$.direct",
                "Next": "Wrapped",
            },
            "Wrapped": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "reserve", "Payload.$": "$"},
                "ResultSelector": {"seat.$": "$.Payload.seat", "code.$": "$.StatusCode"},
                "ResultPath": "$.wrapped",
                "End": True,
            },
        },
    }
    app.state_machine("Book", machine)
    async with app:
        ok = await closed(app, await app.start_execution("Book", {"who": "ann"}))
        assert ok.output["direct"] == {"seat": "12A", "for": "ann"}
        assert ok.output["wrapped"] == {"seat": "12A", "code": 200}
        bad = await closed(app, await app.start_execution("Book", {"who": "bo", "fail": True}))
        assert (bad.status, bad.error, bad.cause) == ("FAILED", "ValueError", "no seats left")


async def test_callback_with_task_token_through_a_queue(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    approvals = app.queue("approvals")
    resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    params = {
        "QueueUrl": "approvals",
        "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
    }
    app.state_machine("Approve", task_machine(resource, Parameters=params))
    async with app:
        arn = await app.start_execution("Approve", {"order": 7})
        messages: list[Any] = []
        while not messages:
            messages = await approvals.receive(max_messages=1, wait=1)
        body = json.loads(messages[0].body)
        assert body["order"] == 7
        await app.send_task_heartbeat(body["token"])
        await app.send_task_success(body["token"], {"approved": True})
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED" and info.output == {"approved": True}
        with pytest.raises(TaskDoesNotExist):
            await app.send_task_success(body["token"], {})
        with pytest.raises(TaskDoesNotExist):
            await app.send_task_failure("not-a-token", "E")

        arn2 = await app.start_execution("Approve", {"order": 8})
        messages = []
        while not messages:
            messages = await approvals.receive(max_messages=1, wait=1)
        await app.send_task_failure(json.loads(messages[0].body)["token"], "Rejected", "too big")
        info = await closed(app, arn2)
        assert (info.status, info.error, info.cause) == ("FAILED", "Rejected", "too big")


async def test_wait_is_a_durable_timer_and_heartbeats_time_out(store_url: str) -> None:
    clock = FakeClock()
    app = App("m", store_url, clock=clock, consume=True)
    app.state_machine(
        "Slow", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    params = {"QueueUrl": "inbox", "MessageBody": {"t.$": "$$.Task.Token"}}
    app.queue("inbox")
    app.state_machine("Beat", task_machine(resource, Parameters=params, HeartbeatSeconds=30))
    async with app:
        arns = [await app.start_execution("Slow") for _ in range(5)]
        beat = await app.start_execution("Beat")
        for arn in arns:
            await reached(app, arn, "WaitStateEntered")
        await reached(app, beat, "TaskStarted")
        assert (await app.store.counts(STEPS_QUEUE)).delayed >= 5  # timers, not workers
        assert (await app.describe_execution(arns[0])).status == "RUNNING"
        clock.advance(3600)
        for arn in arns:
            assert (await closed(app, arn)).status == "SUCCEEDED"
        info = await closed(app, beat)
        assert (info.status, info.error) == ("FAILED", "States.HeartbeatTimeout")
        types = [e["type"] for e in await app.get_execution_history(beat)]
        assert "TaskTimedOut" in types and "TaskFailed" not in types


async def test_redrive_resumes_at_the_failed_state(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    calls: list[Any] = []

    def flaky(value: Any) -> Any:
        calls.append(value)
        if len(calls) == 1:
            raise ConnectionError("airline down")
        return "booked"

    machine = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prep", "Next": "Book"},
            "Book": {"Type": "Task", "Resource": "book", "ResultPath": "$.booking", "End": True},
        },
    }
    app.state_machine("Redrive", machine, resources={"book": flaky})
    async with app:
        arn = await app.start_execution("Redrive", {"id": 1})
        assert (await closed(app, arn)).error == "ConnectionError"
        with pytest.raises(ExecutionDoesNotExist):
            await app.redrive_execution(arn + "x")
        again = await app.redrive_execution(arn)
        assert again.status == "RUNNING" and again.redrive_count == 1
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED"
        assert info.output == {"id": 1, "prep": "ready", "booking": "booked"}
        types = [e["type"] for e in await app.get_execution_history(arn)]
        assert types.count("PassStateEntered") == 1 and types.count("TaskStateEntered") == 2
        assert "ExecutionRedriven" in types
        with pytest.raises(ExecutionNotRedrivable):
            await app.redrive_execution(arn)


async def test_definition_is_kept_with_each_execution(store_url: str) -> None:
    clock = FakeClock()
    app = App("m", store_url, clock=clock, consume=True)
    first = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 10, "Next": "R"},
            "R": {"Type": "Pass", "Result": "v1", "End": True},
        },
    }
    app.state_machine("Versioned", first)
    async with app:
        arn = await app.start_execution("Versioned")
        second = json.loads(json.dumps(first).replace("v1", "v2"))
        await app.executions.save_machine(app.state_machine("Versioned", second))
        await reached(app, arn, "WaitStateEntered")
        clock.advance(10)
        assert (await closed(app, arn)).output == "v1"
        newer = await app.start_execution("Versioned")
        await reached(app, newer, "WaitStateEntered")
        clock.advance(10)
        assert (await closed(app, newer)).output == "v2"


async def test_start_execution_sync_waits_for_the_child(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    app.state_machine(
        "Child",
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Pass",
                    "Parameters": {"doubled.$": "States.MathAdd($.x, $.x)"},
                    "End": True,
                }
            },
        },
    )
    parent = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "Child", "Input": {"x.$": "$.x"}},
                "OutputPath": "$.Output",
                "End": True,
            }
        },
    }
    app.state_machine("Parent", parent)
    async with app:
        info = await closed(app, await app.start_execution("Parent", {"x": 21}))
        assert info.status == "SUCCEEDED" and info.output == {"doubled": 42}
        children = await app.list_executions("Child")
        assert len(children) == 1 and children[0].status == "SUCCEEDED"
