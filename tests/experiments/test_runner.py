"""The runner's guarantees: a failing steady state aborts before any fault; a stop
condition rolls every fault back at once; Ctrl-C rolls back and still reports; --dry-run
injects nothing; the terminal chart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stormproof import App
from stormproof.cli.chaos_run import run
from stormproof.experiments import Dependency, Faults, Runner, parse
from stormproof.experiments import report as reporting

ROOT = Path(__file__).resolve().parents[2]
CHAOS = ROOT / "examples" / "chaos"


def never(app: App) -> bool:
    """A custom probe that never holds."""
    return False


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def outage(**extra: Any) -> dict[str, Any]:
    fault = {"target": "dependency:payments", "action": "error", "status": 503, "duration": 30}
    return {
        "title": "outage",
        "duration": 6,
        "recovery": 5,
        "sample_interval": 0.2,
        "steady_state": [{"probe": "dlq_depth", "queue": "orders-dlq", "max": 0}],
        "load": [{"kind": "queue", "target": "orders", "rate": 40, "duration": 5}],
        "faults": [{"at": 0.5, "fault": fault}],
        "ledger": {"dead_letter": ["orders-dlq"]},
        "watch": {"queues": ["orders"]},
        **extra,
    }


def _app(name: str, store_url: str) -> App:
    import examples.chaos.apps as apps

    app: App = getattr(apps, name)
    app.store_url = store_url
    return app


async def test_a_failing_steady_state_aborts_before_any_fault(store_url: str) -> None:
    probe = {"probe": "custom", "function": "tests.experiments.test_runner:never"}
    exp = parse(outage(steady_state=[probe]))
    runner = Runner(exp, _app("outage_breaker", store_url), faults=Faults())
    outcome = await runner.run()
    assert outcome.status == "aborted" and reporting.exit_code(outcome) == 2
    assert outcome.injected == [] and runner.traffic.sent == set()
    assert "steady state failed" in str(outcome.stop_reason)


async def test_a_stop_condition_rolls_every_fault_back_at_once(store_url: str) -> None:
    stop = [{"probe": "dlq_depth", "queue": "orders-dlq", "max": 3}]
    exp = parse(outage(stop_conditions=stop, duration=12))
    runner = Runner(exp, _app("outage_plain", store_url), faults=Faults())
    outcome = await runner.run()
    assert outcome.status == "stopped" and reporting.exit_code(outcome) == 1
    assert "dlq_depth(orders-dlq) <= 3" in str(outcome.stop_reason)
    assert outcome.rolled_back_at is not None and outcome.rolled_back_at < exp.duration
    assert Dependency.registry["payments"].faults == []  # the 30 s fault is gone
    report = reporting.build(runner)
    (window,) = report["fault_windows"]
    assert window["end"] == outcome.rolled_back_at  # shaded until the roll-back, not 30 s
    rec = outcome.reconciliation
    assert rec is not None and rec.lost == 0  # stopped, but still drained and reconciled


def test_ctrl_c_rolls_back_and_still_reports(tmp_path: Path) -> None:
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps(outage(duration=60)))
    folder = tmp_path / "rep"
    code = "import sys; from stormproof.cli.chaos_run import run; run.main(sys.argv[1:])"
    args = [
        sys.executable,
        "-c",
        code,
        str(exp),
        "--app",
        "examples.chaos.apps:outage_plain",
        "--store",
        f"sqlite:///{tmp_path}/s.db",
        "--report",
        str(folder),
        "--plot",
        "none",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "injected" in line:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 130, rest
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["rolled_back_at"] < 10
    assert "rolling every fault back" in rest
    assert not (folder / "plot.png").exists()


def test_dry_run_prints_the_plan_and_injects_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(run, [str(CHAOS / "kill-workers.yaml"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "t=2 s: crash on process:worker for 1 s" in result.output
    assert "t=6 s: crash on process:worker" in result.output
    assert "dry run: nothing injected" in result.output


def test_invalid_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(outage(duration=-1)))
    result = CliRunner().invoke(run, [str(bad), "--dry-run"])
    assert result.exit_code != 0
    assert "invalid duration=-1: allowed a number > 0 and <= 3600" in str(result.exception)


def test_terminal_chart(tmp_path: Path) -> None:
    exp = tmp_path / "e.json"
    load = [{"kind": "queue", "target": "orders", "rate": 20, "duration": 1}]
    exp.write_text(json.dumps(outage(duration=2, faults=[], recovery=2, load=load)))
    folder = tmp_path / "rep"
    result = CliRunner().invoke(
        run,
        [
            str(exp),
            "--app",
            "examples.chaos.apps:outage_breaker",
            "--store",
            f"sqlite:///{tmp_path}/s.db",
            "--report",
            str(folder),
            "--plot",
            "terminal",
        ],
    )
    assert result.exit_code == 0, result.output
    chart = (folder / "plot.txt").read_text()
    assert "throughput" in chart and len(chart) > 1000
    assert "lost 0" in result.output


async def test_route_load_through_the_front_door_on_loopback(store_url: str) -> None:
    from tests.experiments.route_app import app

    app.store_url = store_url
    route = "POST /orders"
    exp = parse(
        {
            "title": "route",
            "duration": 2,
            "recovery": 10,
            "sample_interval": 0.2,
            "steady_state": [
                {"probe": "p99_latency", "route": route, "max": 2},
                {"probe": "error_rate", "route": route, "max": 0.01},
            ],
            "load": [{"kind": "route", "target": route, "rate": 20}],
            "watch": {"queues": ["orders"]},
        }
    )
    runner = Runner(exp, app)
    outcome = await runner.run()
    assert outcome.status == "passed", (outcome.after, outcome.errors)
    statuses = {st for _, _, st in runner.traffic.requests}
    # The generator paces 20/s for 2 s (40) and never bursts to catch up, so a loaded machine
    # sends fewer; whatever it sent must all have been accepted and processed.
    assert statuses == {202} and 10 <= len(runner.traffic.requests) <= 40
    rec = outcome.reconciliation
    assert rec is not None and rec.sent == rec.processed == len(runner.traffic.requests)
    assert rec.lost == 0
