"""The demo's count of alarm notifications, on hand-made receiver records."""

from __future__ import annotations

from typing import Any

from examples.booking.phases import alerts

ARN = "arn:aws:states:us-east-1:111111111111:execution:ProcessBooking:"


def failed(name: str, event: Any = '{"card": "4000-declined"}') -> dict[str, Any]:
    return {
        "kind": "failed_execution",
        "execution_arn": ARN + name,
        "event": event,
        "redrive": f"stormproof executions redrive {ARN}{name}",
    }


def alarm(name: str, to: str, *incidents: dict[str, Any]) -> dict[str, Any]:
    body = {"alarm": name, "from": "OK", "to": to, "incidents": list(incidents)}
    return {"kind": "alarm", "body": body}


def test_each_failed_booking_counts_once_with_its_event() -> None:
    received = [
        {"kind": "notification", "body": {}},
        alarm("failed-bookings", "ALARM", failed("a")),
        alarm("failed-bookings", "ALARM", failed("a"), failed("b")),  # a sent again
        alarm("failed-bookings", "ALARM", failed("c", event=None)),  # linked, not carried
        alarm("breaker:payments-api", "ALARM"),
    ]
    assert alerts(received) == {
        "alarm_notifications": 4,
        "alerted_bookings": 2,
        "breaker_alarm": True,
    }


def test_no_alarm_no_alert() -> None:
    received = [alarm("breaker:payments-api", "OK"), {"kind": "outcome", "body": {}}]
    assert alerts(received) == {
        "alarm_notifications": 1,
        "alerted_bookings": 0,
        "breaker_alarm": False,
    }
