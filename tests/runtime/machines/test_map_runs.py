"""Distributed Map on both stores: every item is a child execution on the lease engine."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import InvalidDefinition
from stormproof.machines.definitions import validate
from tests.runtime.machines.test_machines import closed, reached


def distributed(processor_states: dict[str, Any], start: str, **map_fields: Any) -> dict[str, Any]:
    """A machine whose only state is a DISTRIBUTED Map running ``processor_states``."""
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": start,
                    "States": processor_states,
                },
                "End": True,
                **map_fields,
            }
        },
    }


def work_state(**extra: Any) -> dict[str, Any]:
    """One Task state calling the resource ``work``."""
    return {"Work": {"Type": "Task", "Resource": "work", "End": True, **extra}}


async def test_each_item_is_a_child_execution_with_its_own_history(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    app.state_machine(
        "Fan", distributed(work_state(), "Work"), resources={"work": lambda v: v * 10}
    )
    async with app:
        arn = await app.start_execution("Fan", list(range(12)))
        info = await closed(app, arn)
        assert (info.status, info.output) == ("SUCCEEDED", [v * 10 for v in range(12)])
        parent = [e["type"] for e in await app.get_execution_history(arn)]
        assert "MapRunStarted" in parent and "MapRunSucceeded" in parent
        assert not [t for t in parent if t.startswith(("Task", "MapIteration"))]
        run_arn = next(
            e["mapRunStartedEventDetails"]["mapRunArn"]
            for e in await app.get_execution_history(arn)
            if e["type"] == "MapRunStarted"
        )
        children = await app.list_executions(map_run=run_arn)
        assert len(children) == 12
        assert {c.status for c in children} == {"SUCCEEDED"}
        assert sorted(c.input for c in children) == list(range(12))
        assert all(c.machine == "Fan/Fan" and c.map_run == run_arn for c in children)
        history = [e["type"] for e in await app.get_execution_history(children[0].arn)]
        assert history[0] == "ExecutionStarted" and "TaskSucceeded" in history
        assert children[0].as_dict()["mapRunArn"] == run_arn


async def test_max_concurrency_bounds_running_children(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    lock = threading.Lock()
    running, peak = [0], [0]

    async def work(value: Any) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.02)  # overlap, so a missing bound would show
        with lock:
            running[0] -= 1
        return value

    machine = distributed(work_state(), "Work", MaxConcurrency=3)
    app.state_machine("Bounded", machine, resources={"work": work})
    async with app:
        arn = await app.start_execution("Bounded", list(range(15)))
        info = await closed(app, arn)
        assert (info.status, info.output) == ("SUCCEEDED", list(range(15)))
        assert 1 <= peak[0] <= 3


async def test_item_batcher_gives_each_batch_one_child(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    machine = distributed(
        {
            "Count": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.ArrayLength($.Items)"},
                "End": True,
            }
        },
        "Count",
        ItemBatcher={"MaxItemsPerBatch": 4},
    )
    app.state_machine("Batches", machine)
    async with app:
        arn = await app.start_execution("Batches", list(range(10)))
        info = await closed(app, arn)
        assert info.output == [{"n": 4}, {"n": 4}, {"n": 2}]
        assert len(await app.list_executions("Batches/Fan")) == 3


async def test_tolerance_exceeded_fails_the_map_and_stops_running_children(
    store_url: str,
) -> None:
    app = App("m", store_url, consume=True)
    app.queue("tokens")

    def work(value: int) -> int:
        if value < 0:
            raise ValueError(f"bad item {value}")
        return value

    states = {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Hang"}],
            "Default": "Work",
        },
        "Hang": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "tokens", "MessageBody.$": "$$.Task.Token"},
            "End": True,
        },
        **work_state(),
    }
    machine = distributed(states, "Route", ToleratedFailureCount=1)
    app.state_machine("Tolerant", machine, resources={"work": work})
    async with app:
        arn = await app.start_execution("Tolerant", [0, 1, -1, 2, -2])
        info = await closed(app, arn)
        assert (info.status, info.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        children = {c.input: c for c in await app.list_executions("Tolerant/Fan")}
        assert children[-1].error == "ValueError" and children[-2].error == "ValueError"
        hanging = await closed(app, children[0].arn)  # nobody waits for it any more
        assert hanging.status == "ABORTED"


async def test_one_tolerated_failure_keeps_the_error_in_the_output(store_url: str) -> None:
    app = App("m", store_url, consume=True)

    def work(value: int) -> int:
        if value == 2:
            raise KeyError("two")
        return value

    machine = distributed(work_state(), "Work", ToleratedFailurePercentage=50)
    app.state_machine("Lenient", machine, resources={"work": work})
    async with app:
        arn = await app.start_execution("Lenient", [1, 2, 3])
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED"
        assert info.output[0] == 1 and info.output[2] == 3
        assert info.output[1]["Error"] == "KeyError"


async def test_stopping_the_parent_stops_its_children(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    app.queue("tokens")
    hang = {
        "Hang": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "tokens", "MessageBody.$": "$$.Task.Token"},
            "End": True,
        }
    }
    app.state_machine("Stoppable", distributed(hang, "Hang"))
    async with app:
        arn = await app.start_execution("Stoppable", [1, 2, 3])
        await reached(app, arn, "MapRunStarted")
        while len(await app.list_executions("Stoppable/Fan")) < 3:
            await asyncio.sleep(0.01)
        await app.stop_execution(arn)
        for child in await app.list_executions("Stoppable/Fan"):
            assert (await closed(app, child.arn)).status == "ABORTED"


async def test_redrive_reruns_only_the_failed_children(store_url: str) -> None:
    app = App("m", store_url, consume=True)
    calls: list[int] = []
    fixed = [False]

    def work(value: int) -> int:
        calls.append(value)
        if value % 4 == 3 and not fixed[0]:
            raise ConnectionError(f"item {value} unavailable")
        return value + 100

    states = {
        "Prepare": {"Type": "Pass", "Next": "Work"},
        **work_state(),
    }
    app.state_machine("Redo", distributed(states, "Prepare"), resources={"work": work})
    async with app:
        arn = await app.start_execution("Redo", list(range(8)))
        info = await closed(app, arn)
        assert info.error == "States.ExceedToleratedFailureThreshold"
        # Children still running when the Map failed are stopped; wait until all closed.
        for child in await app.list_executions("Redo/Fan"):
            await closed(app, child.arn)
        before = {c.input: c.status for c in await app.list_executions("Redo/Fan")}
        calls.clear()
        fixed[0] = True
        await app.redrive_execution(arn)
        info = await closed(app, arn)
        assert (info.status, info.output) == ("SUCCEEDED", [v + 100 for v in range(8)])
        rerun = sorted(v for v, status in before.items() if status != "SUCCEEDED")
        assert sorted(calls) == rerun and 3 in rerun
        children = await app.list_executions("Redo/Fan")
        assert len(children) == 8  # the same children, redriven: none started anew
        redriven = {c.input: c.redrive_count for c in children}
        assert all(redriven[v] == (1 if v in rerun else 0) for v in range(8))
        history = [
            e["type"]
            for e in await app.get_execution_history(next(c.arn for c in children if c.input == 3))
        ]
        assert history.count("PassStateEntered") == 1  # resumed at the failed Task


def test_item_reader_and_result_writer_are_refused_when_defined() -> None:
    machine = distributed({"P": {"Type": "Pass", "End": True}}, "P")
    fan = machine["States"]["Fan"]
    fan["ItemReader"] = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "b", "Key": "k"},
    }
    fan["ResultWriter"] = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "b", "Prefix": "out"},
    }
    validate(machine)  # valid ASL...
    with pytest.raises(InvalidDefinition) as caught:  # ...that stormproof cannot run
        App("m", "sqlite:///:memory:").state_machine("Reader", machine)
    paths = [path for path, _ in caught.value.problems]
    assert paths == ["$.States.Fan.ItemReader", "$.States.Fan.ResultWriter"]
    assert "S3" in caught.value.problems[0][1]
