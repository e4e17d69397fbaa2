"""The saga recipe (docs/machines.md): book hotel, flight and car; compensate in reverse."""

from __future__ import annotations

import asyncio
from typing import Any

from stormproof import App
from stormproof.testing import FakeClock, run_state_machine


class CarUnavailable(Exception):
    """The car rental has nothing left."""


def _task(resource: str, result: str, nxt: str, catch_next: str | None, **extra: Any) -> Any:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": resource,
        "ResultPath": result,
        "Next": nxt,
    }
    if catch_next:
        state["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch_next}
        ]
    return {**state, **extra}


COMPENSATION_RETRY = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5}]
SAGA = {
    "Comment": "Book a trip; undo what was booked, newest first, when a booking fails.",
    "StartAt": "BookHotel",
    "States": {
        "BookHotel": _task("book_hotel", "$.hotel", "BookFlight", "BookingFailed"),
        "BookFlight": _task("book_flight", "$.flight", "BookCar", "CancelHotel"),
        "BookCar": _task(
            "book_car",
            "$.car",
            "Booked",
            "CancelFlight",
            Retry=[{"ErrorEquals": ["CarUnavailable"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        ),
        "Booked": {"Type": "Succeed"},
        "CancelFlight": _task(
            "cancel_flight", "$.flightCancelled", "CancelHotel", None, Retry=COMPENSATION_RETRY
        ),
        "CancelHotel": _task(
            "cancel_hotel", "$.hotelCancelled", "BookingFailed", None, Retry=COMPENSATION_RETRY
        ),
        "BookingFailed": {"Type": "Fail", "Error": "BookingFailed", "CausePath": "$.error.Cause"},
    },
}
TRIP = {"trip": "T-42", "traveller": "ann", "city": "LHR"}


def resources(calls: list[tuple[str, Any]], car_fails: bool) -> dict[str, Any]:
    """Task functions that record their calls (the car fails every time if asked)."""

    def make(name: str) -> Any:
        def run(event: Any) -> Any:
            calls.append((name, event))
            if name == "book_car" and car_fails:
                raise CarUnavailable(f"no cars at {event['city']}")
            return {"ref": f"{name}:{event['trip']}"}

        return run

    names = ("book_hotel", "book_flight", "book_car", "cancel_flight", "cancel_hotel")
    return {n: make(n) for n in names}


def test_saga_compensates_in_reverse_order_and_keeps_the_input() -> None:
    calls: list[tuple[str, Any]] = []
    result = run_state_machine(SAGA, TRIP, resources=resources(calls, car_fails=True))
    assert [name for name, _ in calls] == [
        "book_hotel",
        "book_flight",
        "book_car",
        "book_car",
        "book_car",
        "cancel_flight",
        "cancel_hotel",
    ]
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "BookingFailed",
        "no cars at LHR",
    )
    cancel_hotel_input = calls[-1][1]
    assert {k: cancel_hotel_input[k] for k in TRIP} == TRIP  # the original input, kept
    assert cancel_hotel_input["flightCancelled"] == {"ref": "cancel_flight:T-42"}
    assert cancel_hotel_input["error"]["Error"] == "CarUnavailable"
    types = [e["type"] for e in result.history]
    assert types.count("TaskFailed") == 3 and types[-1] == "ExecutionFailed"


def test_saga_books_everything_when_nothing_fails() -> None:
    calls: list[tuple[str, Any]] = []
    result = run_state_machine(SAGA, TRIP, resources=resources(calls, car_fails=False))
    assert result.status == "SUCCEEDED"
    booked = {k: {"ref": f"book_{k}:T-42"} for k in ("hotel", "flight", "car")}
    assert result.output == {**TRIP, **booked}


async def test_saga_on_each_store_with_app_functions(store_url: str) -> None:
    clock = FakeClock()
    app = App("trips", store_url, clock=clock, consume=True)
    calls: list[tuple[str, Any]] = []
    app.state_machine("BookTrip", SAGA, resources=resources(calls, car_fails=True))
    async with app:
        arn = await app.start_execution("BookTrip", TRIP, name="trip-T-42")
        while (info := await app.describe_execution(arn)).status == "RUNNING":
            await asyncio.sleep(0.01)
            clock.advance(1)  # retry backoff is a durable timer: move time, not a sleep
        assert (info.status, info.error) == ("FAILED", "BookingFailed")
        assert [name for name, _ in calls][-2:] == ["cancel_flight", "cancel_hotel"]
