"""RedriveExecution on both stores: only the failed Parallel branches and Map items run again.

The failing task sits behind a 10-second Wait (on a fake clock), so the other tasks have
certainly succeeded when it fails: otherwise they could be aborted by the failure, and an
aborted branch or item rightly runs again on redrive.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from stormproof import App
from stormproof.testing import FakeClock
from tests.runtime.machines.test_machines import closed, reached


async def tasks_succeeded(app: App, arn: str, count: int, timeout: float = 20.0) -> None:
    """Wait (polling) until the history has ``count`` ``TaskSucceeded`` events."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        types = [e["type"] for e in await app.get_execution_history(arn)]
        if types.count("TaskSucceeded") >= count:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{types.count('TaskSucceeded')}"
        await asyncio.sleep(0.01)


class Work:
    """Task functions that count their calls; ``broken`` fails until ``fixed``."""

    def __init__(self, broken: Any) -> None:
        self.calls: Counter[Any] = Counter()
        self.broken = broken
        self.fixed = False

    def __call__(self, key: Any, result: Any) -> Any:
        """Record a call of ``key``; fail it while it is the broken one."""
        self.calls[key] += 1
        if key == self.broken and not self.fixed:
            raise ConnectionError(f"{key} is down")
        return result


def hold(target: str) -> dict[str, Any]:
    """A 10-second Wait before ``target``."""
    return {"Type": "Wait", "Seconds": 10, "Next": target}


async def test_parallel_redrive_runs_only_the_failed_branch(store_url: str) -> None:
    clock = FakeClock()
    app = App("m", store_url, clock=clock, consume=True)
    work = Work("b")

    def branch(name: str, held: bool = False) -> dict[str, Any]:
        # State names are unique across the whole machine.
        call = {"Type": "Task", "Resource": name, "End": True}
        if held:
            return {"StartAt": "Hold", "States": {"Hold": hold(name), name: call}}
        return {"StartAt": name, "States": {name: call}}

    machine = {
        "StartAt": "All",
        "States": {
            "All": {
                "Type": "Parallel",
                "Branches": [branch("a"), branch("b", held=True), branch("c")],
                "End": True,
            }
        },
    }
    resources = {n: (lambda v, n=n: work(n, n.upper())) for n in "abc"}
    app.state_machine("Fanout", machine, resources=resources)
    async with app:
        arn = await app.start_execution("Fanout")
        await tasks_succeeded(app, arn, 2)
        await reached(app, arn, "WaitStateEntered")
        clock.advance(10)
        assert (await closed(app, arn)).error == "ConnectionError"
        work.fixed = True
        assert (await app.redrive_execution(arn)).redrive_count == 1
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED" and info.output == ["A", "B", "C"]
        assert work.calls == {"a": 1, "b": 2, "c": 1}


async def test_inline_map_redrive_runs_only_the_failed_item(store_url: str) -> None:
    clock = FakeClock()
    app = App("m", store_url, clock=clock, consume=True)
    work = Work(3)
    processor = {
        "StartAt": "Which",
        "States": {
            "Which": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Hold"}],
                "Default": "Call",
            },
            "Hold": hold("Call"),
            "Call": {"Type": "Task", "Resource": "work", "End": True},
        },
    }
    machine = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemProcessor": processor, "End": True}},
    }
    app.state_machine("Items", machine, resources={"work": lambda v: work(v, v * 10)})
    async with app:
        arn = await app.start_execution("Items", [1, 2, 3, 4, 5])
        await tasks_succeeded(app, arn, 4)
        await reached(app, arn, "WaitStateEntered")
        clock.advance(10)
        assert (await closed(app, arn)).error == "ConnectionError"
        work.fixed = True
        await app.redrive_execution(arn)
        info = await closed(app, arn)
        assert info.status == "SUCCEEDED" and info.output == [10, 20, 30, 40, 50]
        assert work.calls == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
        types = [e["type"] for e in await app.get_execution_history(arn)]
        assert types.count("MapIterationSucceeded") == 5 and "ExecutionRedriven" in types
