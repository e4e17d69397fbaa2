"""Transaction functions (issue 19): writes commit with the step that causes them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute, SqlError, TransactionTimeout

MACHINE_TIMEOUT = 30.0


class NoSeatsLeft(Exception):
    """The flight is full."""


def write_migrations(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_flights.sql").write_text(
        "CREATE TABLE flights (id TEXT PRIMARY KEY, seats INTEGER NOT NULL);\n"
        "CREATE TABLE bookings (id TEXT PRIMARY KEY, flight TEXT NOT NULL);\n"
    )
    (folder / "002_seed.sql").write_text("INSERT INTO flights VALUES ('F1', 2);")
    return folder


def booking_app(store_url: str, migrations: Path) -> App:
    app = App("booking", store_url, consume=True)  # machines run their steps here
    app.sql_migrations(migrations)

    @app.transaction()
    def reserve_seat(db: Any, event: Any) -> Any:
        row = db.execute(
            "UPDATE flights SET seats = seats - 1 WHERE id = :id AND seats > 0 RETURNING seats",
            {"id": event["flight_id"]},
        ).fetchone()
        if row is None:
            raise NoSeatsLeft(event["flight_id"])
        booking = {"b": event["booking"], "f": event["flight_id"]}
        db.execute("INSERT INTO bookings VALUES (:b, :f)", booking)
        return {"seats_left": row[0]}

    @app.transaction()
    def seats(db: Any, event: Any) -> Any:
        return db.execute("SELECT seats FROM flights WHERE id = :id", {"id": event}).fetchone()[0]

    @app.transaction()
    def booked(db: Any, event: Any) -> Any:
        sql = "SELECT count(*) FROM bookings WHERE id LIKE 'b%' AND id <> ':x'"
        return db.execute(sql).fetchone()[0]

    return app


async def test_direct_invocation_commits_or_rolls_back(store_url: str, tmp_path: Path) -> None:
    app = booking_app(store_url, write_migrations(tmp_path / "migrations"))
    reserve = app.functions.transactions.by_name["reserve_seat"]
    async with app:
        assert await reserve.invoke({"flight_id": "F1", "booking": "b1"}) == {"seats_left": 1}
        with pytest.raises(SqlError):  # a duplicate booking id: its seat comes back too
            await reserve.invoke({"flight_id": "F1", "booking": "b1"})
        assert await reserve.invoke({"flight_id": "F1", "booking": "b2"}) == {"seats_left": 0}
        with pytest.raises(NoSeatsLeft):
            await reserve.invoke({"flight_id": "F1", "booking": "b3"})
    # Reopening applies no migration twice (the seed would otherwise reset the seats).
    again = booking_app(store_url, tmp_path / "migrations")
    async with again:
        assert await again.functions.transactions.by_name["seats"].invoke("F1") == 0
        assert await again.functions.transactions.by_name["booked"].invoke() == 2


async def test_a_failing_function_leaves_no_write(store_url: str, tmp_path: Path) -> None:
    app = booking_app(store_url, write_migrations(tmp_path / "m"))

    @app.transaction(timeout=0.3)
    def half_then_fail(db: Any, event: Any) -> Any:
        db.execute("UPDATE flights SET seats = 99")
        if event == "slow":
            time.sleep(0.5)
            db.execute("SELECT 1")
        raise NoSeatsLeft("after a write")

    async with app:
        with pytest.raises(NoSeatsLeft):
            await half_then_fail.invoke("fast")
        with pytest.raises(TransactionTimeout):
            await half_then_fail.invoke("slow")
        assert await app.functions.transactions.by_name["seats"].invoke("F1") == 2


async def test_transaction_control_and_async_are_refused(store_url: str) -> None:
    app = App("t", store_url)

    @app.transaction()
    def commits(db: Any, event: Any) -> Any:
        db.execute("COMMIT")

    with pytest.raises(InvalidAttribute):

        @app.transaction()
        async def not_sync(db: Any, event: Any) -> Any:
            return None

    async with app:
        with pytest.raises(SqlError):
            await commits.invoke()


def booking_machine(resource: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    reserve: dict[str, Any] = {
        "Type": "Task",
        "Resource": resource,
        "ResultPath": "$.reservation",
        "Next": "Booked",
        "Catch": [
            {
                "ErrorEquals": ["NoSeatsLeft", "Sql.ConditionFailed"],
                "ResultPath": "$.error",
                "Next": "Compensate",
            }
        ],
    }
    if params is not None:
        reserve["Parameters"] = params
    return {
        "StartAt": "Reserve",
        "States": {
            "Reserve": reserve,
            "Booked": {"Type": "Succeed"},
            "Compensate": {
                "Type": "Pass",
                "Result": "refunded",
                "ResultPath": "$.refund",
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "Error": "BookingFailed"},
        },
    }


async def finish(app: App, arns: list[str]) -> list[Any]:
    deadline = time.monotonic() + MACHINE_TIMEOUT
    while True:
        infos = [await app.describe_execution(arn) for arn in arns]
        if all(i.status != "RUNNING" for i in infos) or time.monotonic() > deadline:
            return infos
        await asyncio.sleep(0.05)


async def test_a_task_resource_commits_with_its_step(store_url: str, tmp_path: Path) -> None:
    app = booking_app(store_url, write_migrations(tmp_path / "m"))
    app.state_machine("Book", booking_machine("reserve_seat"))
    async with app:
        arns = [
            await app.start_execution("Book", {"flight_id": "F1", "booking": f"b{i}"})
            for i in range(3)
        ]
        infos = await finish(app, arns)
        assert sorted(i.status for i in infos) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
        assert await app.functions.transactions.by_name["seats"].invoke("F1") == 0
        assert await app.functions.transactions.by_name["booked"].invoke() == 2
        failed = next(a for a, i in zip(arns, infos, strict=True) if i.status == "FAILED")
        history = await app.get_execution_history(failed)
        names = [getattr(e, "type", None) or e["type"] for e in history]
        assert "TaskFailed" in names and "PassStateExited" in names


async def test_sql_execute_expect_rows_is_caught(store_url: str, tmp_path: Path) -> None:
    app = booking_app(store_url, write_migrations(tmp_path / "m"))
    app.sql_statement(
        "take_seat",
        "UPDATE flights SET seats = seats - :dec WHERE id = :id AND seats >= :dec RETURNING seats",
    )
    params = {
        "Statement": "take_seat",
        "Arguments": {"id.$": "$.flight_id", "dec": 1},
        "ExpectRows": 1,
    }
    app.state_machine("Take", booking_machine("arn:stormproof:states:::sql:execute", params))
    async with app:
        arns = [await app.start_execution("Take", {"flight_id": "F1"}) for _ in range(3)]
        infos = await finish(app, arns)
        assert sorted(i.status for i in infos) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
        ok = [i for i in infos if i.status == "SUCCEEDED"]
        left = sorted(i.output["reservation"]["Rows"][0]["seats"] for i in ok)
        assert left == [0, 1]
        assert all(i.output["reservation"]["RowCount"] == 1 for i in ok)
        assert await app.functions.transactions.by_name["seats"].invoke("F1") == 0
