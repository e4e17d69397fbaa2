"""The real ``stormproof events`` CLI in subprocesses, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from stormproof import App, Target
from tests.acceptance.test_cli_queues import cli, ok, ok_json, one_line_error

EVENT = {
    "id": "1",
    "account": "1",
    "source": "shop",
    "time": "2024-01-01T00:00:00Z",
    "region": "r",
    "detail-type": "order",
    "detail": {"total": 250},
}


async def _declare(store_url: str) -> None:
    """An app declares the bus once; the CLI then works from the store's catalog."""
    app = App("shop", store_url)
    app.buses.background = False
    orders = app.queue("orders")
    bus = app.bus("default")
    bus.rule(
        "big",
        pattern={"detail": {"total": [{"numeric": [">", 100]}]}},
        targets=[Target(orders, input_path="$.detail", max_retry_attempts=3)],
    )
    bus.rule("nightly", schedule="cron(0 3 * * ? *)", targets=[Target(orders)])
    bus.archive("all")
    async with app:
        pass


async def test_events_commands_end_to_end(store_url: str) -> None:
    await _declare(store_url)
    rules = ok_json(store_url, "events", "rules")
    assert {r["name"] for r in rules} == {"big", "nightly"}
    [target] = ok_json(store_url, "events", "targets", "big")
    assert (target["kind"], target["name"], target["maxRetryAttempts"]) == ("queue", "orders", 3)
    assert "orders" in ok(store_url, "events", "targets", "big")

    put = ok_json(
        store_url,
        "events",
        "put",
        "--source",
        "shop",
        "--detail-type",
        "order",
        "--detail",
        '{"total": 250}',
        "--time",
        "2024-01-01T00:00:30Z",
    )
    assert put["failedEntryCount"] == 0
    entries = json.dumps(
        [
            {
                "source": "shop",
                "detail_type": "order",
                "detail": {"total": 5},
                "time": "2024-01-01T00:01:00Z",
            }
        ]
    )
    assert ok_json(store_url, "events", "put", "--entries", entries)["failedEntryCount"] == 0
    received = ok_json(store_url, "queues", "receive", "orders", "--max", "10")
    assert [json.loads(m["body"]) for m in received] == [{"total": 250}]

    [archive] = ok_json(store_url, "events", "archives")
    assert (archive["name"], archive["events"]) == ("all", 2)

    status = ok_json(
        store_url,
        "events",
        "replay",
        "all",
        "--start",
        "2024-01-01T00:00:00Z",
        "--end",
        "2024-01-01T00:02:00Z",
        "--rules",
        "big",
        "--name",
        "r1",
    )
    assert (status["state"], status["total"], status["replayed"]) == ("COMPLETED", 2, 2)
    assert ok_json(store_url, "events", "replay-status", "r1")["state"] == "COMPLETED"
    assert "r1" in ok(store_url, "events", "replay-status")

    failed = cli(
        store_url, "events", "put", "--source", "shop", "--detail-type", "order", "--detail", "[1]"
    )
    assert failed.returncode == 1 and "MalformedDetail" in failed.stdout
    error = one_line_error(
        cli(store_url, "events", "replay", "nope", "--start", "2024-01-01", "--end", "2024-01-02")
    )
    assert "archive" in error


def test_test_pattern() -> None:
    store = "sqlite:///unused.db"
    pattern = '{"detail": {"total": [{"numeric": [">", 100]}]}}'
    assert ok(store, "events", "test-pattern", pattern, json.dumps(EVENT)).strip() == "true"
    small = json.dumps({**EVENT, "detail": {"total": 5}})
    assert ok(store, "events", "test-pattern", pattern, small).strip() == "false"
    bad = cli(store, "events", "test-pattern", '{"a": [{"numeric": ["<", "x"]}]}', "{}")
    assert bad.returncode == 1
    assert one_line_error(bad).startswith("error: Event pattern is not valid. Reason:")
