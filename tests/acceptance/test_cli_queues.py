"""The real ``stormproof queues`` CLI in subprocesses, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli(
    store_url: str, *args: str, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stormproof --store URL ARGS...`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "stormproof", "--store", store_url, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def ok(store_url: str, *args: str, input: str | None = None) -> str:
    """Run a command that must succeed; its stdout."""
    done = cli(store_url, *args, input=input)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def ok_json(store_url: str, *args: str) -> Any:
    """Run a command with ``--json`` that must succeed; its parsed output."""
    return json.loads(ok(store_url, *args, "--json"))


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line of a failed command."""
    assert done.returncode != 0, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def test_create_update_send_receive_delete_round_trip(store_url: str) -> None:
    created = ok_json(store_url, "queues", "create", "orders", "--visibility-timeout", "45")
    assert created["name"] == "orders"
    assert created["visibilityTimeout"] == 45
    assert created["fifo"] is False
    updated = ok_json(store_url, "queues", "update", "orders", "--retention", "3600")
    assert (updated["visibilityTimeout"], updated["retention"]) == (45, 3600)

    message_id = ok(store_url, "queues", "send", "orders", "hello", "--attribute", "k=v").strip()
    listing = ok_json(store_url, "queues", "ls")
    assert [(q["name"], q["visible"], q["inFlight"]) for q in listing] == [("orders", 1, 0)]
    table = ok(store_url, "queues", "ls")
    assert "orders" in table and "in flight" in table

    [msg] = ok_json(store_url, "queues", "receive", "orders", "--max", "10")
    assert (msg["messageId"], msg["body"], msg["receiveCount"]) == (message_id, "hello", 1)
    assert msg["attributes"] == {"k": "v"}
    ok(store_url, "queues", "change-visibility", "orders", msg["receiptHandle"], "0")

    human = ok(store_url, "queues", "receive", "orders", "--visibility-timeout", "0")
    assert f"message {message_id}" in human and "body: hello" in human
    assert "receive count: 2" in human
    [again] = ok_json(store_url, "queues", "receive", "orders")
    stale = one_line_error(cli(store_url, "queues", "delete", "orders", msg["receiptHandle"]))
    assert "receipt handle is invalid" in stale
    assert ok(store_url, "queues", "delete", "orders", again["receiptHandle"]).strip() == "deleted"
    stats = ok_json(store_url, "queues", "stats", "orders")
    assert (stats["total"], stats["oldestAge"]) == (0, None)

    ok(store_url, "queues", "send", "orders", "-", input='{"n": 1}\n')
    assert ok(store_url, "queues", "purge", "orders").strip() == "purged 1 messages from orders"
    ok(store_url, "queues", "delete-queue", "orders")
    assert ok_json(store_url, "queues", "ls") == []


def test_bad_input_gives_one_line_errors(store_url: str) -> None:
    out_of_range = cli(store_url, "queues", "create", "q", "--visibility-timeout", "50000")
    assert out_of_range.returncode == 1
    line = one_line_error(out_of_range)
    assert "visibility_timeout" in line and "0 to 43200" in line

    not_a_number = cli(store_url, "queues", "create", "q", "--visibility-timeout", "soon")
    assert not_a_number.returncode == 2
    assert "--visibility-timeout" in one_line_error(not_a_number)

    unknown = cli(store_url, "queues", "send", "nowhere", "hello")
    assert one_line_error(unknown) == f"error: queue 'nowhere' does not exist [store: {store_url}]"
    assert unknown.stdout == ""

    bad_name = one_line_error(cli(store_url, "queues", "create", "bad name!"))
    assert "name" in bad_name
    assert "No such command" in one_line_error(cli(store_url, "queues", "frobnicate"))
    missing = cli(store_url, "queues", "send-batch", "q", "/nonexistent/file.ndjson")
    assert missing.returncode == 2
    assert "No such file" in one_line_error(missing)


def _ndjson(lines: int, bad_line: int) -> str:
    out = []
    for n in range(1, lines + 1):
        if n == bad_line:
            out.append("{not json")
        elif n % 3 == 0:
            out.append(json.dumps({"body": {"n": n}, "attributes": {"n": n}}))
        elif n % 3 == 1:
            out.append(json.dumps({"n": n}))  # an object without "body" is the body itself
        else:
            out.append(json.dumps(f"text {n}"))
    return "\n".join(out) + "\n"


def test_send_batch_from_a_file_reports_the_bad_line(store_url: str, tmp_path: Path) -> None:
    ok(store_url, "queues", "create", "bulk")
    source = tmp_path / "messages.ndjson"
    source.write_text(_ndjson(250, bad_line=117))

    done = cli(store_url, "queues", "send-batch", "bulk", str(source), "--json")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "error: 1 of 250 messages failed"
    report = json.loads(done.stdout)
    assert report["sent"] == 249
    assert [(f["line"], f["code"]) for f in report["failed"]] == [(117, "InvalidLine")]
    assert "117" not in report["messageIds"] and len(report["messageIds"]) == 249

    human = cli(store_url, "queues", "send-batch", "bulk", input='"a"\n\n{"body": "b"}\n')
    assert human.returncode == 0, human.stderr
    assert human.stdout.strip() == "sent 2 of 2 messages to bulk"
    assert ok_json(store_url, "queues", "stats", "bulk")["visible"] == 251

    received = ok_json(store_url, "queues", "receive", "bulk", "--max", "10", "--delete")
    assert len(received) == 10
    assert all(m["body"].startswith(('{"n":', "text ")) or m["body"] in "ab" for m in received)
    assert ok_json(store_url, "queues", "stats", "bulk")["total"] == 241


def test_fifo_queue_needs_a_group_id(store_url: str) -> None:
    fifo_name = "jobs.fifo"
    created = ok_json(store_url, "queues", "create", fifo_name, "--content-based-deduplication")
    assert created["fifo"] is True and created["contentBasedDeduplication"] is True
    assert "group_id" in one_line_error(cli(store_url, "queues", "send", fifo_name, "x"))
    first = ok(store_url, "queues", "send", fifo_name, "x", "--group-id", "g")
    again = ok(store_url, "queues", "send", fifo_name, "x", "--group-id", "g")
    assert first == again  # de-duplicated by content
