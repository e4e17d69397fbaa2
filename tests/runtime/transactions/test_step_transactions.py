"""A transaction Task runs inside the step that enters it: Before, the writes, the outcome
and After commit in one unit, with no task message; a failure rolls back only the
function's writes and reaches Retry and Catch; a replayed step runs nothing again
(issue 19, both stores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stormproof import App
from stormproof.machines.step_messages import INTERNAL, STEPS_QUEUE, TASKS_QUEUE
from stormproof.testing import FakeClock

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


class Refused(Exception):
    """The function's own failure, after it wrote."""


def _machine(task: dict[str, Any]) -> dict[str, Any]:
    update = {"Type": "Task", "Resource": "bump", "ResultPath": "$.row", "Next": "After", **task}
    states = {
        "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "Update"},
        "Update": update,
        "After": {"Type": "Pass", "Result": 1, "ResultPath": "$.after", "End": True},
    }
    if "Catch" in task:
        states["Caught"] = {
            "Type": "Pass",
            "Result": "caught",
            "ResultPath": "$.caught",
            "End": True,
        }
    return {"StartAt": "Before", "States": states}


CATCH_ALL = {"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]}


def _app(store_url: str, tmp_path: Path, fail: dict[str, int], timeout: float = 1.0) -> App:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "001_counter.sql").write_text(
        "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n"
        "INSERT INTO counter VALUES (1, 0);"
    )
    app = App("hop", store_url, clock=FakeClock())
    app.sql_migrations(folder)

    @app.transaction(timeout=timeout)
    def bump(db: Any, event: Any) -> Any:
        n = db.execute("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()[0]
        if fail.get("times", 0) > 0:
            fail["times"] -= 1
            if fail.get("runaway"):
                db.execute(RUNAWAY)
            raise Refused(f"refused at {n}")
        return n

    @app.transaction()
    def count(db: Any, event: Any) -> Any:
        return db.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0]

    return app


async def _count(app: App) -> Any:
    return await app.functions.transactions.by_name["count"].invoke()


async def _types(app: App, arn: str) -> list[str]:
    return [e["type"] for e in await app.get_execution_history(arn)]


async def test_the_whole_hop_commits_in_the_step(store_url: str, tmp_path: Path) -> None:
    app = _app(store_url, tmp_path, {})
    app.executions.machines.define("M", _machine({}))
    async with app:
        arn = await app.start_execution("M", {"x": 1})
        assert await app.executions.steps.drain() == 1  # the start message: all of it
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output == {"x": 1, "before": 1, "row": 1, "after": 1}
        assert await app.executions.tasks.drain() == 0  # no task message was ever sent
        assert await _count(app) == 1
        types = await _types(app, arn)
        assert types.count("TaskSucceeded") == 1 and types[-1] == "ExecutionSucceeded"


async def test_a_failure_rolls_back_its_writes_and_is_caught(
    store_url: str, tmp_path: Path
) -> None:
    app = _app(store_url, tmp_path, {"times": 1})
    app.executions.machines.define("M", _machine(CATCH_ALL))
    async with app:
        arn = await app.start_execution("M", {})
        assert await app.executions.steps.drain() == 1
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output["caught"] == "caught"
        assert info.output["error"]["Error"] == "Refused"
        assert await _count(app) == 0  # the UPDATE before the raise rolled back
        assert "TaskFailed" in await _types(app, arn)


async def test_a_timeout_is_states_timeout_and_rolled_back(store_url: str, tmp_path: Path) -> None:
    app = _app(store_url, tmp_path, {"times": 1, "runaway": 1}, timeout=0.3)
    app.executions.machines.define("M", _machine(CATCH_ALL))
    async with app:
        arn = await app.start_execution("M", {})
        await app.executions.steps.drain()
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output["error"]["Error"] == "States.Timeout"
        assert await _count(app) == 0


async def test_a_retry_waits_on_a_timer_then_runs_again(store_url: str, tmp_path: Path) -> None:
    app = _app(store_url, tmp_path, {"times": 1})
    retry = {"Retry": [{"ErrorEquals": ["Refused"], "IntervalSeconds": 5, "MaxAttempts": 2}]}
    app.executions.machines.define("M", _machine(retry))
    async with app:
        arn = await app.start_execution("M", {})
        assert await app.executions.steps.drain() == 1
        assert (await app.describe_execution(arn)).status == "RUNNING"
        assert await _count(app) == 0
        # The backoff is a timer message (the hop enqueues none for the Task's timeout).
        counts = await app.store.counts(STEPS_QUEUE)
        assert (counts.visible, counts.delayed) == (0, 1)
        assert (await app.store.counts(TASKS_QUEUE)).visible == 0
        app.clock.advance(6)  # type: ignore[attr-defined]
        assert await app.executions.steps.drain() == 1
        info = await app.describe_execution(arn)
        assert info.status == "SUCCEEDED"
        assert info.output["row"] == 1
        assert await _count(app) == 1


async def test_a_replayed_step_runs_the_transaction_once(store_url: str, tmp_path: Path) -> None:
    app = _app(store_url, tmp_path, {})
    app.executions.machines.define("M", _machine({}))
    async with app:
        arn = await app.start_execution("M", {})
        steps = app.executions.steps
        rows = await app.store.claim(STEPS_QUEUE, INTERNAL, 10, steps.visibility)
        assert len(rows) == 1
        await steps.process(rows)
        before = await app.describe_execution(arn)
        await steps.process(rows)  # the same message again (its step committed)
        assert await _count(app) == 1
        after = await app.describe_execution(arn)
        assert (before.status, after.status) == ("SUCCEEDED", "SUCCEEDED")
        assert (await _types(app, arn)).count("TaskSucceeded") == 1
