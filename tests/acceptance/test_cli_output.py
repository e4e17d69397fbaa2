"""One output style (issue 11, items 10 and 11): camelCase JSON keys, ISO-8601 times, no
lease internals, one fake account and region; internal queues hidden unless --all;
durations for humans; executions listed with short rows, paged, saying when there is more."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from stormproof import App, Target
from stormproof.core import identity
from tests.acceptance.test_cli_queues import cli, ok, ok_json

SNAKE = re.compile(r"^[a-z]+_[a-z_]+$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)$")
WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def snake_keys(value: Any) -> list[str]:
    """Every snake_case key of stormproof's own JSON (user data is not walked)."""
    if isinstance(value, list):
        return [k for item in value for k in snake_keys(item)]
    if not isinstance(value, dict):
        return []
    return [k for k in value if SNAKE.match(k)]


def test_queue_and_redrive_json_is_camel_case_with_iso_times(store_url: str) -> None:
    ok(store_url, "queues", "create", "jobs-dlq")
    created = ok_json(
        store_url,
        "queues",
        "create",
        "jobs",
        "--dead-letter",
        "jobs-dlq",
        "--max-receive-count",
        "1",
        "--redrive-allow",
        "allowAll",
    )
    assert created["visibilityTimeout"] == 30 and created["deadLetter"] == "jobs-dlq"
    assert created["redriveAllow"] == {"redrivePermission": "allowAll", "sourceQueues": []}
    sent = ok_json(store_url, "queues", "send", "jobs", "x", "--attribute", "snake_key=v")
    [msg] = ok_json(store_url, "queues", "receive", "jobs", "--visibility-timeout", "0")
    assert msg["messageId"] == sent["messageId"] and ISO.match(msg["sentAt"])
    assert msg["attributes"] == {"snake_key": "v"}  # user data keeps its keys
    ok_json(store_url, "queues", "receive", "jobs")  # moves it to the DLQ
    task = ok_json(store_url, "dlq", "redrive", "jobs-dlq")
    assert ISO.match(task["startedAt"]), task
    assert "owner" not in task and "leaseUntil" not in task and "lease_until" not in task
    outputs = [
        created,
        sent,
        msg,
        task,
        ok_json(store_url, "queues", "ls"),
        ok_json(store_url, "queues", "stats", "jobs"),
        ok_json(store_url, "dlq", "status", "jobs-dlq"),
        ok_json(store_url, "queues", "purge", "jobs"),
    ]
    assert [snake_keys(o) for o in outputs] == [[]] * len(outputs)


async def _events_app(url: str) -> None:
    app = App("cli-output", url)
    app.buses.background = False
    app.state_machine("Waiting", WAITING)
    sink = app.queue("sink")
    app.bus("default").rule("all", pattern={"source": ["shop"]}, targets=[Target(sink)])
    async with app:
        await app.executions.close()


def test_bus_events_and_machines_share_one_account_and_region(store_url: str) -> None:
    asyncio.run(_events_app(store_url))
    arn = ok(store_url, "executions", "start", "Waiting").strip()
    assert f":{identity.REGION}:{identity.ACCOUNT}:" in arn
    put = ok_json(
        store_url, "events", "put", "--source", "shop", "--detail-type", "t", "--detail", "{}"
    )
    assert put["failedEntryCount"] == 0 and "eventId" in put["entries"][0]
    assert snake_keys(put) == [] and snake_keys(put["entries"]) == []
    [delivered] = ok_json(store_url, "queues", "receive", "sink")
    event = json.loads(delivered["body"])
    assert (event["account"], event["region"]) == (identity.ACCOUNT, identity.REGION)
    described = ok_json(store_url, "executions", "describe", arn)
    assert described["stateMachineArn"].split(":")[3:5] == [identity.REGION, identity.ACCOUNT]


def test_queues_ls_hides_internal_queues_unless_all(store_url: str) -> None:
    ok(store_url, "queues", "create", "orders")
    asyncio.run(_internal_queues(store_url))  # reserved names: only the runtime makes them
    assert [q["name"] for q in ok_json(store_url, "queues", "ls")] == ["orders"]
    every = {q["name"] for q in ok_json(store_url, "queues", "ls", "--all")}
    assert every == {"orders", "_fn-worker", "_bus-default-rule"}
    table = ok(store_url, "queues", "ls")
    assert "orders" in table and "_fn-worker" not in table
    assert "_fn-worker" in ok(store_url, "queues", "ls", "--all")


def test_attributes_show_durations_not_floats(store_url: str) -> None:
    shown = ok(
        store_url,
        "queues",
        "create",
        "slow",
        "--retention",
        "1209600",
        "--visibility-timeout",
        "90",
        "--dedup-window",
        "300",
    )
    assert "1.2096e+06" not in shown
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in shown.splitlines()
        if line.count("│") == 3
    }
    assert rows["retention"] == "14 d"
    assert rows["visibility timeout"] == "90 s"
    assert rows["dedup window"] == "5 min"
    assert ok_json(store_url, "queues", "stats", "slow")["total"] == 0


async def _internal_queues(url: str) -> None:
    async with App("cli-output", url) as app:
        await app.queues.create("_fn-worker")
        await app.queues.create("_bus-default-rule")


async def _many_executions(url: str, count: int) -> list[str]:
    app = App("cli-output", url)
    app.state_machine("Waiting", WAITING)
    async with app:
        await app.executions.close()
        return [await app.start_execution("Waiting", {}, name=f"run-{i:02d}") for i in range(count)]


def test_executions_ls_pages_and_says_when_there_is_more(store_url: str) -> None:
    arns = asyncio.run(_many_executions(store_url, 5))
    first = ok_json(store_url, "executions", "ls", "--limit", "2")
    assert len(first["executions"]) == 2 and first["nextPage"] == 2
    pages = [first] + [
        ok_json(store_url, "executions", "ls", "--limit", "2", "--page", str(n)) for n in (2, 3)
    ]
    assert pages[2]["nextPage"] is None
    listed = [e["executionArn"] for p in pages for e in p["executions"]]
    assert sorted(listed) == sorted(arns)
    table = ok(store_url, "executions", "ls", "--limit", "2")
    assert "more executions: --page 2" in table
    assert "arn:aws:states" not in table  # short rows: the name, not the ARN
    assert max(len(line) for line in table.splitlines()) < 120
    done = cli(store_url, "executions", "ls", "--limit", "5")
    assert "more executions" not in done.stdout


def test_json_output_is_valid_json_everywhere(store_url: str) -> None:
    ok(store_url, "queues", "create", "q")
    for args in (
        ("queues", "ls"),
        ("machines", "ls"),
        ("executions", "ls"),
        ("events", "rules"),
        ("migrate",),
    ):
        json.loads(ok(store_url, *args, "--json"))
