"""Consecutive function Tasks run under one task message, each with its own checkpoint,
and an inline task whose worker died runs again (both stores)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from stormproof import App
from stormproof.machines.step_messages import TASKS_QUEUE
from stormproof.testing import FakeClock

THREE = {
    "StartAt": "T1",
    "States": {
        "T1": {"Type": "Task", "Resource": "work", "ResultPath": "$.t1", "Next": "T2"},
        "T2": {"Type": "Task", "Resource": "work", "ResultPath": "$.t2", "Next": "T3"},
        "T3": {"Type": "Task", "Resource": "work", "ResultPath": "$.t3", "End": True},
    },
}


def _types(history: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in history]


async def test_a_chain_of_function_tasks_runs_under_one_message(store_url: str) -> None:
    calls: Counter[str] = Counter()

    async def work(event: Any) -> Any:
        calls[str(len(event))] += 1
        return len(event)

    app = App("m", store_url, clock=FakeClock())
    app.executions.machines.define("Three", THREE, resources={"work": work})
    async with app:
        arn = await app.start_execution("Three", {"x": 1})
        await app.executions.steps.drain()
        assert await app.executions.tasks.drain() == 1  # one claimed message ran all three
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output == {"x": 1, "t1": 1, "t2": 2, "t3": 3}
        assert calls == Counter({"1": 1, "2": 1, "3": 1})
        history = _types(await app.get_execution_history(arn))
        assert history.count("TaskSucceeded") == 3
        assert (await app.store.counts(TASKS_QUEUE)).visible == 0
        assert (await app.store.counts(TASKS_QUEUE)).delayed == 0


async def test_an_inline_task_whose_worker_died_runs_again(store_url: str) -> None:
    clock = FakeClock()
    calls: Counter[str] = Counter()
    started, crashed = asyncio.Event(), {"yes": True}

    async def work(event: Any) -> Any:
        calls[str(len(event))] += 1
        if len(event) == 2 and crashed["yes"]:
            started.set()
            await asyncio.Event().wait()  # the worker dies in here
        return len(event)

    app = App("m", store_url, clock=clock)
    app.executions.machines.define("Three", THREE, resources={"work": work})
    async with app:
        arn = await app.start_execution("Three", {"x": 1})
        await app.executions.steps.drain()
        dying = asyncio.get_running_loop().create_task(app.executions.tasks.drain())
        await asyncio.wait_for(started.wait(), 10)
        dying.cancel()
        await asyncio.gather(dying, return_exceptions=True)
        assert (await app.describe_execution(arn)).status == "RUNNING"
        assert await app.executions.tasks.drain() == 0  # T2 has no message; T1's is leased
        crashed["yes"] = False
        clock.advance(app.executions.tasks.visibility + 1)
        assert await app.executions.tasks.drain() == 1  # T1's message again: it runs T2
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output == {"x": 1, "t1": 1, "t2": 2, "t3": 3}
        assert calls == Counter({"1": 1, "2": 2, "3": 1})  # T2 at least once, T1 once
