"""A worker app for the SIGKILL test of transaction functions (issue 19).

``reserve_seat`` decrements the flight's seats and records the booking in the step's
transaction; a full flight raises ``NoSeatsLeft``, which a Catch compensates with
``refund`` (also a transaction). The booking and refund tables have no unique key on
purpose: a transaction committed twice would show as a second row.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

from stormproof import App

app = App("tx-booking")
app.sql_migrations(Path(__file__).parent / "migrations")


class NoSeatsLeft(Exception):
    """The flight is full."""


@app.transaction()
def reserve_seat(db: Any, event: Any) -> Any:
    """Take a seat and record the booking (sleeps a little to widen the kill window)."""
    with open(os.environ["SP_TEST_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{event['booking']}\n")  # every attempt, committed or not
    row = db.execute(
        "UPDATE flights SET seats = seats - 1 WHERE id = :id AND seats > 0 RETURNING seats",
        {"id": event["flight_id"]},
    ).fetchone()
    if row is None:
        raise NoSeatsLeft(event["flight_id"])
    time.sleep(random.random() * (0.2 if db.dialect == "sqlite" else 0.1))
    db.execute(
        "INSERT INTO bookings VALUES (:b, :f)", {"b": event["booking"], "f": event["flight_id"]}
    )
    return {"seats_left": row[0]}


@app.transaction()
def refund(db: Any, event: Any) -> Any:
    """The compensation of a booking that found no seat."""
    db.execute("INSERT INTO refunds VALUES (:b)", {"b": event["booking"]})
    return "refunded"


DEFINITION = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {
            "Type": "Task",
            "Resource": "reserve_seat",
            "ResultPath": "$.reservation",
            "Next": "Confirm",
            # Bookings queue on the flight's row lock: one that waits past its budget
            # rolled back whole, so it is safe to run again.
            "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 10}],
            "Catch": [
                {"ErrorEquals": ["NoSeatsLeft"], "ResultPath": "$.error", "Next": "Compensate"}
            ],
        },
        "Confirm": {"Type": "Pass", "Result": "ok", "ResultPath": "$.confirmed", "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Compensate": {
            "Type": "Task",
            "Resource": "refund",
            "ResultPath": "$.refund",
            "Next": "SoldOut",
        },
        "SoldOut": {"Type": "Fail", "Error": "NoSeatsLeft"},
    },
}

app.state_machine("Book", DEFINITION)
app.executions.tasks.visibility = 2.0
app.executions.steps.visibility = 2.0
