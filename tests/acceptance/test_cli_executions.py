"""``stormproof executions ...`` and ``stormproof machines validate`` in subprocesses."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from stormproof import App

ROOT = Path(__file__).resolve().parents[2]
WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI on the store ``url``."""
    command = [sys.executable, "-m", "stormproof", "--store", url, *args]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


def test_machines_validate_prints_every_problem(tmp_path: Path) -> None:
    bad = {"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "B", "Bogus": 1}}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = cli(f"sqlite:///{tmp_path}/x.db", "machines", "validate", str(path))
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert len(lines) >= 3 and all(line.startswith("$") for line in lines)
    assert "problem(s)" in result.stderr
    good = tmp_path / "good.json"
    good.write_text(json.dumps(WAITING))
    ok = cli(f"sqlite:///{tmp_path}/x.db", "machines", "validate", str(good))
    assert ok.returncode == 0 and "valid" in ok.stdout


async def _declare(url: str) -> None:
    app = App("cli-test", url)
    app.state_machine("Waiting", WAITING)
    async with app:  # stores the machine (no worker runs it in this test)
        await app.executions.close()


def test_start_describe_history_stop_redrive_ls(store_url: str) -> None:
    asyncio.run(_declare(store_url))
    started = cli(
        store_url, "executions", "start", "Waiting", "--input", '{"order": 7}', "--name", "o-7"
    )
    assert started.returncode == 0, started.stderr
    arn = started.stdout.strip()
    assert arn.endswith(":execution:Waiting:o-7")
    described = json.loads(cli(store_url, "executions", "describe", arn, "--json").stdout)
    assert described["status"] == "RUNNING" and json.loads(described["input"]) == {"order": 7}
    again = cli(
        store_url, "executions", "start", "Waiting", "--input", '{"order": 8}', "--name", "o-7"
    )
    assert again.returncode == 1 and again.stderr.startswith("error:")
    stopped = json.loads(
        cli(store_url, "executions", "stop", arn, "--error", "Ops", "--json").stdout
    )
    assert stopped["status"] == "ABORTED" and stopped["error"] == "Ops"
    history = json.loads(cli(store_url, "executions", "history", arn, "--json").stdout)
    assert [e["type"] for e in history] == ["ExecutionAborted"] or history[-1][
        "type"
    ] == "ExecutionAborted"
    redriven = json.loads(cli(store_url, "executions", "redrive", arn, "--json").stdout)
    assert redriven["status"] == "RUNNING" and redriven["redriveCount"] == 1
    listed = json.loads(cli(store_url, "executions", "ls", "--machine", "Waiting", "--json").stdout)
    assert [e["executionArn"] for e in listed["executions"]] == [arn]
    assert listed["nextPage"] is None
    table = cli(store_url, "executions", "ls")
    assert table.returncode == 0 and "o-7" in table.stdout
    missing = cli(store_url, "executions", "describe", "arn:nope")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
