"""Structured logs: JSON lines carry the ids and real attempts; levels mean something."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.errors import InvalidAttribute
from stormproof.telemetry import logs
from stormproof.testing import FakeClock


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_json_lines_follow_a_message_to_its_dlq(store_url: str) -> None:
    stream = io.StringIO()
    undo = logs.configure("json", "INFO", stream)
    try:
        clock = FakeClock()
        app = App("shop", store_url, clock=clock)
        dlq = app.queue("orders-dlq")
        q = app.queue("orders", visibility_timeout=20, dead_letter=dlq, max_receive_count=2)

        @app.function(timeout=3)
        async def handle(event: Any, context: Any) -> None:
            raise RuntimeError("nope")

        app.consume(q, handle)
        async with app:
            worker = Worker(app)
            await worker.start()
            mid = await q.send("poison")
            for _ in range(3):
                await worker.run_once()
                clock.advance(21)
            await worker.shutdown()
    finally:
        undo()
    found = lines(stream)
    failed = [x for x in found if x["event"] == "invocation.failed"]
    assert [x["attempt"] for x in failed] == [1, 2]
    assert all(x["level"] == "INFO" and x["app"] == "shop" for x in failed)
    (dead,) = [x for x in found if x["event"] == "message.dead_lettered"]
    assert dead["level"] == "WARNING"
    assert (dead["queue"], dead["dlq"], dead["message_id"], dead["attempt"]) == (
        "orders",
        "orders-dlq",
        mid,
        2,
    )
    assert "body" not in dead  # payloads stay out of log lines
    assert not [x for x in found if x["event"] == "invocation.succeeded"]  # DEBUG


def test_console_is_the_default_and_env_chooses_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.ENV, raising=False)
    assert logs.chosen_format(None) == "console"
    monkeypatch.setenv(logs.ENV, "JSON")
    assert logs.chosen_format(None) == "json"
    assert logs.chosen_format("console") == "console"
    monkeypatch.setenv(logs.ENV, "xml")
    with pytest.raises(InvalidAttribute):
        logs.chosen_format(None)


def test_plain_records_become_json_with_their_extra_fields() -> None:
    record = logging.LogRecord(
        "stormproof.x", logging.WARNING, __file__, 1, "hi %s", ("there",), None
    )
    record.stormproof = {"event": "lease.lost", "queue": "q"}
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "hi there"
    assert (line["event"], line["queue"], line["level"]) == ("lease.lost", "q", "WARNING")
