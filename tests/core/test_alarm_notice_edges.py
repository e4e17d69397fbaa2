"""Alarm notifications (core/alarm.py selectors, core/alarm_notice.py bodies): what each
incident is about and says, the notification body, and its e-mail text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stormproof.core import alarm, alarm_notice

DROPPED: dict[str, Any] = {
    "function": "score",
    "stream": "clicks",
    "shard_id": "shardId-000000000001",
    "destination": "drops",
    "condition": "RetryAttemptsExhausted",
    "attempt": 4,
    "record": {
        "KinesisBatchInfo": {
            "startSequenceNumber": "00000000000000000007",
            "endSequenceNumber": "00000000000000000009",
            "batchSize": 3,
            "approximateArrivalOfFirstRecord": "2026-12-03T00:00:00Z",
        }
    },
}


def test_a_selector_names_its_kind_and_prints_as_written() -> None:
    selector = alarm.parse_selector("dlq_depth:orders-dlq")
    assert selector.kind == "queue" and not selector.counter
    assert str(selector) == "dlq_depth:orders-dlq"
    assert alarm.parse_selector("throttles:charge").kind == "function"


def test_no_time_has_no_iso_form() -> None:
    assert alarm_notice.iso(None) is None
    assert alarm_notice.iso(0) == "1970-01-01T00:00:00.000+00:00"


@pytest.mark.parametrize(
    ("name", "fields", "subject"),
    [
        ("message.dead_lettered", {"dlq": "d"}, ("queue", "d")),
        ("invocation.dead_lettered", {"destination": None}, None),
        ("delivery.dead_lettered", {"dlq": "bus-dlq"}, ("queue", "bus-dlq")),
        ("delivery.dead_lettered", {}, None),
        ("stream.batch_dropped", {"destination": "drops"}, ("queue", "drops")),
        ("stream.batch_dropped", {"destination": None}, None),
        ("queue.created", {"queue": "q"}, None),
    ],
)
def test_what_an_incident_is_about(
    name: str, fields: dict[str, Any], subject: tuple[str, str] | None
) -> None:
    assert alarm_notice.subject_of(name, fields) == subject


def test_events_that_are_not_incidents_have_no_details() -> None:
    assert alarm_notice.incident("queue.created", {"queue": "q"}, 1.0) is None


def test_a_bus_delivery_given_up_names_its_rule_target_and_dlq() -> None:
    fields = {
        "rule": "r",
        "target": "t",
        "dlq": "bus-dlq",
        "event": {"x": 1},
        "error_type": "ConnectionError",
        "error_message": "refused",
        "attempt": 2,
        "condition": "RetriesExhausted",
        "enqueued_at": 1.0,
    }
    item = alarm_notice.incident("delivery.dead_lettered", fields, 2.0, link_base="http://h")
    assert item is not None and item["kind"] == "failed_delivery"
    assert (item["rule"], item["target"], item["destination"]) == ("r", "t", "bus-dlq")
    assert (item["error_type"], item["error_message"]) == ("ConnectionError", "refused")
    assert item["redrive"] == "stormproof dlq redrive bus-dlq"
    big = alarm_notice.incident(
        "delivery.dead_lettered", {**fields, "event": "y" * 50}, 2.0, link_base="http://h", limit=10
    )
    assert big is not None and big["event_link"] == "http://h/ui/queues/bus-dlq"
    assert big["event_size"] == 52


def test_a_delivery_given_up_without_a_dlq_has_no_redrive() -> None:
    item = alarm_notice.incident("delivery.dead_lettered", {"rule": "r", "event": 1}, 2.0)
    assert item is not None and item["destination"] is None and item["redrive"] is None
    assert item["error_type"] is None


def test_a_dropped_stream_batch_says_how_to_read_it_again() -> None:
    item = alarm_notice.incident("stream.batch_dropped", DROPPED, 3.0)
    assert item is not None and item["kind"] == "dropped_stream_batch"
    assert item["fetch"] == (
        "stormproof streams read clicks shardId-000000000001 --at 00000000000000000007 --limit 3"
    )
    assert item["error_message"] == (
        "3 record(s) 00000000000000000007-00000000000000000009 given up"
    )
    assert item["event"] == DROPPED["record"] and item["redrive"] is None
    assert item["first_arrival"] == "2026-12-03T00:00:00Z" and item["attempts"] == 4


def test_the_notification_keeps_the_newest_incidents_and_mails_them() -> None:
    old = {"state": "OK"}
    new = {"state": "ALARM", "reason": "dlq_depth 3 > 0", "value": 3, "changed_at": 60.0}
    incidents = [{"kind": "k", "n": n} for n in range(alarm_notice.MAX_INCIDENTS + 5)]
    incidents[-1] = {
        "kind": "dead_lettered_message",
        "error_type": "E",
        "error_message": "m",
        "redrive": "stormproof dlq redrive d",
    }
    body = alarm_notice.notification("shop", "dlq", "dlq_depth:d", old, new, incidents)
    assert (body["from"], body["to"], body["at"]) == (
        "OK",
        "ALARM",
        "1970-01-01T00:01:00.000+00:00",
    )
    assert len(body["incidents"]) == alarm_notice.MAX_INCIDENTS
    assert body["incidents"][0] == {"kind": "k", "n": 5}
    subject, text = alarm_notice.email_text(body)
    assert subject == "[stormproof] dlq is ALARM (shop)"
    lines = text.splitlines()
    assert lines[:2] == [
        "dlq: OK -> ALARM at 1970-01-01T00:01:00.000+00:00",
        "reason: dlq_depth 3 > 0",
    ]
    assert "- k: None: None" in lines
    assert "- dead_lettered_message: E: m" in lines
    assert lines.count("  redrive: stormproof dlq redrive d") == 1
    assert json.loads(text[text.index("\n{") :]) == body
