"""The example's own flight table, changed only by transaction functions.

Each function's writes commit in the same transaction as the state-machine step that runs
it, so a seat is taken (or given back) exactly once however often a worker crashes.
"""

from __future__ import annotations

from typing import Any


class NoSeatsLeft(Exception):
    """The flight is sold out: nothing was reserved, so there is nothing to undo."""


def reserve_seat(db: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Take one seat and record the booking as ``reserved`` (idempotent by booking id)."""
    booking, flight = event["booking_id"], event["flight_id"]
    row = db.execute("SELECT status FROM bookings WHERE booking_id = :b", {"b": booking}).fetchone()
    if row is not None:  # a redriven execution: the seat is already ours
        return {"flight_id": flight, "status": row[0]}
    taken = db.execute(
        "UPDATE flights SET seats = seats - 1 WHERE id = :id AND seats > 0 RETURNING seats",
        {"id": flight},
    ).fetchone()
    if taken is None:
        raise NoSeatsLeft(f"flight {flight} is sold out")
    db.execute(
        "INSERT INTO bookings (booking_id, flight_id, status) VALUES (:b, :f, 'reserved')",
        {"b": booking, "f": flight},
    )
    return {"flight_id": flight, "seats_left": taken[0]}


def confirm(db: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Mark a reserved booking ``confirmed``."""
    done = db.execute(
        "UPDATE bookings SET status = 'confirmed' WHERE booking_id = :b "
        "AND status IN ('reserved', 'confirmed') RETURNING flight_id",
        {"b": event["booking_id"]},
    ).fetchone()
    if done is None:
        raise LookupError(f"booking {event['booking_id']} is not reserved")
    return {"booking_id": event["booking_id"], "status": "confirmed", "flight_id": done[0]}


def release(db: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Undo Reserve Flight: give the seat back (``released``), or record ``rejected`` when
    no seat was ever taken. Running it twice changes nothing more."""
    booking = event["booking_id"]
    row = db.execute(
        "SELECT flight_id, status FROM bookings WHERE booking_id = :b", {"b": booking}
    ).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO bookings (booking_id, flight_id, status) VALUES (:b, :f, 'rejected')",
            {"b": booking, "f": event.get("flight_id") or "?"},
        )
        return {"status": "rejected"}
    if row[1] in ("reserved", "confirmed"):
        db.execute("UPDATE flights SET seats = seats + 1 WHERE id = :id", {"id": row[0]})
        db.execute("UPDATE bookings SET status = 'released' WHERE booking_id = :b", {"b": booking})
    return {"status": "released" if row[1] != "rejected" else "rejected"}


def tally(db: Any, event: Any) -> dict[str, Any]:
    """Counts for the live view and the reconciliation: bookings by status, seats."""
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM bookings GROUP BY status"))
    flights = [
        {"id": r[0], "seats": r[1], "capacity": r[2]}
        for r in db.execute("SELECT id, seats, capacity FROM flights ORDER BY id")
    ]
    held = dict(
        db.execute(
            "SELECT flight_id, COUNT(*) FROM bookings "
            "WHERE status IN ('reserved', 'confirmed') GROUP BY flight_id"
        )
    )
    out = {"statuses": statuses, "flights": flights, "held": held}
    if event and event.get("with_statuses"):
        out["by_id"] = dict(db.execute("SELECT booking_id, status FROM bookings"))
    return out
