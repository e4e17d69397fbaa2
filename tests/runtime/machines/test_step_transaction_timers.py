"""A transaction Task run inside its step enqueues no timer for its own timeout; the step
after it plans every wake-up the execution still needs: a Wait, the execution's own
deadline, a Retry's backoff (issue 19, both stores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stormproof import App
from stormproof.machines.step_messages import STEPS_QUEUE, TASKS_QUEUE
from stormproof.testing import FakeClock


def _app(store_url: str, tmp_path: Path, timeout_seconds: int) -> App:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "001_counter.sql").write_text(
        "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n"
        "INSERT INTO counter VALUES (1, 0);"
    )
    app = App("hop-timers", store_url, clock=FakeClock())
    app.sql_migrations(folder)

    @app.transaction()
    def bump(db: Any, event: Any) -> Any:
        return db.execute("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()[0]

    app.executions.machines.define(
        "M",
        {
            "StartAt": "Update",
            "TimeoutSeconds": timeout_seconds,
            "States": {
                "Update": {"Type": "Task", "Resource": "bump", "Next": "Nap"},
                "Nap": {"Type": "Wait", "Seconds": 10, "End": True},
            },
        },
    )
    return app


async def _delayed(app: App) -> int:
    return (await app.store.counts(STEPS_QUEUE)).delayed


async def test_the_wait_after_the_task_gets_its_timer(store_url: str, tmp_path: Path) -> None:
    app = _app(store_url, tmp_path, 60)
    async with app:
        arn = await app.start_execution("M", {})
        assert await app.executions.steps.drain() == 1
        assert (await app.describe_execution(arn)).status == "RUNNING"
        assert await _delayed(app) == 1  # the Wait's timer; none for the Task's timeout
        assert (await app.store.counts(TASKS_QUEUE)).visible == 0
        app.clock.advance(11)  # type: ignore[attr-defined]
        assert await app.executions.steps.drain() == 1
        info = await app.describe_execution(arn)
        assert (info.status, info.output) == ("SUCCEEDED", 1)


async def test_the_execution_deadline_is_planned_after_the_task(
    store_url: str, tmp_path: Path
) -> None:
    app = _app(store_url, tmp_path, 5)
    async with app:
        arn = await app.start_execution("M", {})
        assert await app.executions.steps.drain() == 1
        assert await _delayed(app) == 1  # the deadline (5 s) comes before the Wait (10 s)
        app.clock.advance(6)  # type: ignore[attr-defined]
        assert await app.executions.steps.drain() == 1
        assert (await app.describe_execution(arn)).status == "TIMED_OUT"
