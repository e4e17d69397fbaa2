"""The real ``stormproof dlq`` and ``stormproof migrate`` CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from stormproof.cli.migrate import redact
from tests.acceptance.test_cli_queues import cli, ok, ok_json, one_line_error


def test_dead_lettered_message_is_redriven_back(store_url: str) -> None:
    ok(store_url, "queues", "create", "orders-dlq")
    ok(
        store_url,
        "queues",
        "create",
        "orders",
        "--dead-letter",
        "orders-dlq",
        "--max-receive-count",
        "1",
    )
    message_id = ok(store_url, "queues", "send", "orders", "poison").strip()
    [first] = ok_json(store_url, "queues", "receive", "orders", "--visibility-timeout", "0")
    assert first["messageId"] == message_id
    # The second receive exceeds max_receive_count: the message moves to the DLQ.
    assert ok_json(store_url, "queues", "receive", "orders", "--visibility-timeout", "0") == []
    assert ok_json(store_url, "queues", "stats", "orders-dlq")["visible"] == 1

    task = ok_json(store_url, "dlq", "redrive", "orders-dlq")
    assert (task["state"], task["moved"], task["source"]) == ("COMPLETED", 1, "orders-dlq")
    assert ok_json(store_url, "queues", "stats", "orders")["visible"] == 1
    assert ok_json(store_url, "queues", "stats", "orders-dlq")["total"] == 0

    status = ok(store_url, "dlq", "status", "orders-dlq")
    assert task["taskId"] in status and "COMPLETED" in status
    # Cancelling a finished task changes nothing.
    assert ok_json(store_url, "dlq", "cancel", "orders-dlq")["state"] == "COMPLETED"


def test_dlq_bad_input(store_url: str) -> None:
    ok(store_url, "queues", "create", "dlq")
    assert "no redrive task" in one_line_error(cli(store_url, "dlq", "status", "dlq"))
    assert "does not exist" in one_line_error(cli(store_url, "dlq", "redrive", "nowhere"))
    rate = one_line_error(cli(store_url, "dlq", "redrive", "dlq", "--rate", "0"))
    assert "rate" in rate and "1 to 500" in rate


def test_migrate_reports_the_store(store_url: str) -> None:
    lines = ok(store_url, "migrate").splitlines()
    assert lines[-1] == "schema up to date"
    assert ok_json(store_url, "migrate") == {"store": redact(store_url), "schema": "up to date"}


def test_redact_hides_passwords() -> None:
    assert redact("postgresql://u:secret@h:5432/db?x=1") == "postgresql://u:***@h:5432/db?x=1"
    assert redact("sqlite:///tmp/a.db") == "sqlite:///tmp/a.db"
