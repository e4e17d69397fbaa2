"""The CLI covers the model (issue 11, items 3 and 12): --version, machines ls|describe,
validate --json, functions ls|mappings|invoke, executions by name, start --wait (with a
real worker), test-pattern on a bare event, and AWS's terse bus errors with the reason."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.acceptance.apps.cli_app import DOUBLER
from tests.acceptance.test_cli_queues import cli, ok, ok_json, one_line_error

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.acceptance.apps.cli_app:app"
WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def open_app(store_url: str) -> None:
    """Create the store, then open the app once (it stores its queues and machines)."""
    ok(store_url, "migrate")
    ok(store_url, "functions", "ls", APP)


def test_version() -> None:
    done = cli("sqlite:///unused.db", "--version")
    assert done.returncode == 0 and done.stdout.strip() == "stormproof 0.1.0"


def test_functions_ls_mappings_and_invoke(store_url: str) -> None:
    ok(store_url, "migrate")
    [double, fail] = ok_json(store_url, "functions", "ls", APP)
    assert (double["name"], double["timeout"], double["reservedConcurrency"]) == ("double", 10, 4)
    assert fail["reservedConcurrency"] is None and double["asyncInFlight"] == 0
    assert "unreserved" in ok(store_url, "functions", "ls", APP)
    [mapping] = ok_json(store_url, "functions", "mappings", APP)
    assert (mapping["queue"], mapping["function"], mapping["batchSize"]) == ("orders", "double", 5)
    assert (mapping["maximumConcurrency"], mapping["inFlight"]) == (2, 0)

    result = ok_json(store_url, "functions", "invoke", APP, "double", "--payload", '{"n": 21}')
    assert result == {"result": {"n": 42}}
    assert ok(store_url, "functions", "invoke", APP, "double", "--payload", '{"n": 1}').strip() == (
        '{"n": 2}'
    )
    queued = ok_json(store_url, "functions", "invoke", APP, "double", "--async")
    assert len(queued["requestId"]) == 36
    assert ok_json(store_url, "functions", "ls", APP)[0]["name"] == "double"
    failed = one_line_error(cli(store_url, "functions", "invoke", APP, "fail"))
    assert "function 'fail' failed" in failed and "always fails" in failed
    assert "no function named 'nope'" in one_line_error(
        cli(store_url, "functions", "invoke", APP, "nope")
    )


def test_machines_ls_describe_and_validate_json(store_url: str, tmp_path: Path) -> None:
    open_app(store_url)
    [machine] = ok_json(store_url, "machines", "ls")
    assert machine["name"] == "Doubler" and machine["stateMachineArn"].endswith(":Doubler")
    described = ok_json(store_url, "machines", "describe", "Doubler")
    assert json.loads(described["definition"]) == DOUBLER and described["type"] == "STANDARD"
    human = ok(store_url, "machines", "describe", machine["stateMachineArn"])
    assert '"StartAt": "Double"' in human
    missing = one_line_error(cli(store_url, "machines", "describe", "Nope"))
    assert "state machine 'Nope' does not exist [store:" in missing

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "End": True}}}))
    done = cli(store_url, "machines", "validate", str(bad), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["valid"] is False and report["problems"]
    assert set(report["problems"][0]) == {"path", "message"}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(WAITING))
    assert ok_json(store_url, "machines", "validate", str(good))["valid"] is True


def test_executions_by_name_and_start_wait_with_a_worker(store_url: str) -> None:
    open_app(store_url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "stormproof", "--store", store_url, "worker", APP],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = ok_json(
            store_url,
            "executions",
            "start",
            "Doubler",
            "--input",
            '{"n": 21}',
            "--name",
            "first",
            "--wait",
            "--timeout",
            "60",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"n": 42}
    by_name = ok_json(store_url, "executions", "describe", "first")
    assert by_name["executionArn"] == done["executionArn"]
    assert ok_json(store_url, "executions", "describe", "Doubler/first")["name"] == "first"
    assert ok_json(store_url, "executions", "history", "first")[0]["type"] == "ExecutionStarted"
    missing = one_line_error(cli(store_url, "executions", "describe", "Doubler/never"))
    assert "does not exist [store:" in missing


def test_start_wait_says_when_nothing_runs_it(store_url: str) -> None:
    open_app(store_url)
    done = cli(store_url, "executions", "start", "Doubler", "--wait", "--timeout", "0.5")
    assert "still RUNNING after 0.5 s" in one_line_error(done)
    assert "stormproof worker APP" in done.stderr


def test_test_pattern_fills_the_envelope() -> None:
    store = "sqlite:///unused.db"
    pattern = '{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}'
    bare = '{"source": "shop", "detail-type": "order", "detail": {"total": 250}}'
    assert ok(store, "events", "test-pattern", pattern, bare).strip() == "true"
    report = ok_json(store, "events", "test-pattern", pattern, bare)
    assert report["result"] is True
    assert set(report["filledFields"]) == {
        "version",
        "id",
        "account",
        "time",
        "region",
        "resources",
    }
    strict = one_line_error(cli(store, "events", "test-pattern", pattern, bare, "--strict"))
    assert "Missing mandatory fields" in strict


def test_terse_aws_bus_errors_keep_the_text_and_say_why(store_url: str) -> None:
    open_app(store_url)
    import asyncio

    from stormproof import App

    async def declare() -> None:
        app = App("bus", store_url)
        app.buses.background = False
        app.bus("default")
        async with app:
            pass

    asyncio.run(declare())
    put = cli(
        store_url,
        "events",
        "put",
        "--source",
        "shop",
        "--detail-type",
        "t",
        "--detail",
        "[1]",
        "--json",
    )
    [entry] = json.loads(put.stdout)["entries"]
    assert entry["errorCode"] == "MalformedDetail"
    assert entry["errorMessage"] == (
        "Detail is malformed. (detail must be a JSON object, got a JSON array)"
    )
    aws = cli(
        store_url,
        "events",
        "put",
        "--source",
        "aws.ec2",
        "--detail-type",
        "t",
        "--detail",
        "{}",
        "--json",
    )
    [entry] = json.loads(aws.stdout)["entries"]
    assert entry["errorMessage"].startswith("Not authorized for the source. (")
    assert "reserved" in entry["errorMessage"]
