"""``stormproof lint APP`` on example apps: every planted problem and nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stormproof.core import lint

ROOT = Path(__file__).resolve().parents[2]


def run(app: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-m", "stormproof", "lint", app, *extra]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_misconfigured_example_reports_every_planted_problem_and_nothing_else() -> None:
    done = run("examples.lint_misconfigured:app", "--json")
    assert done.returncode == 2, done.stderr
    found = {(f["code"], f["object"]) for f in json.loads(done.stdout)}
    assert found == {
        ("SP101", "queue:emails"),
        ("SP102", "queue:payments"),
        ("SP103", "queue:emails"),
        ("SP104", "queue:payments"),
        ("SP105", "queue:payments-dlq"),
        ("SP106", "function:audit"),
        ("SP107", "function:notify"),
        ("SP108", "route:GET /report"),
        ("SP109", "machine:checkout"),
        ("SP110", "mapping:returns:ship"),
        ("SP111", "mapping:returns:ship"),
        ("SP112", "rule:events/echo"),
        ("SP113", "stream_mapping:clicks->count"),
        ("SP114", "transaction:reserve"),
        ("SP115", "transaction:reserve"),
    }
    text = run("examples.lint_misconfigured:app").stdout
    assert "SP101 error queue:emails: visibility timeout 5 s < function 'send_email'" in text
    assert "fix: set visibility_timeout >= 60" in text


def test_clean_example_exits_zero() -> None:
    done = run("examples.lint_clean:app")
    assert (done.returncode, done.stdout.strip()) == (0, "no findings"), done.stderr


def test_a_silenced_finding_is_left_out() -> None:
    spec = lint.AppSpec(
        {"q": lint.QueueSpec("q", 60, 345_600, None, 10)},
        {"f": lint.FunctionSpec("f", 10, None)},
        (lint.MappingSpec("q", "f", 0),),
    )
    assert [f.code for f in lint.lint(spec)] == ["SP103"]
    quiet = lint.AppSpec(
        spec.queues, spec.functions, spec.mappings, {"queue:q": {"SP103": "drained by hand"}}
    )
    assert lint.lint(quiet) == []


def test_the_worker_logs_the_findings_at_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "STORMPROOF_LOG_FORMAT": "json",
    }
    store = f"sqlite:///{tmp_path / 'lint.db'}"
    err = tmp_path / "stderr.log"
    with err.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stormproof",
                "worker",
                "examples.lint_misconfigured:app",
                "--store",
                store,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 30
        while "lint SP114" not in err.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = err.read_text()  # (the store then refuses this app's SP101 queue: it stops there)
    assert "lint SP101 error queue:emails" in text and "lint SP113 warning" in text
    found = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    codes = {(x["code"], x["object"]) for x in found if x.get("event") == "lint.finding"}
    assert ("SP114", "transaction:reserve") in codes and len(codes) == 15
