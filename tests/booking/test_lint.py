"""``stormproof lint`` on the booking example (clean) and its misconfigured variant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lint(app: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-m", "stormproof", "lint", app, "--json"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_booking_example_lints_clean() -> None:
    done = lint("examples.booking:app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_the_misconfigured_variant_shows_each_warning() -> None:
    done = lint("examples.booking_misconfigured:app")
    assert done.returncode == 1, done.stdout + done.stderr
    found = {(f["code"], f["object"]) for f in json.loads(done.stdout)}
    assert found == {
        ("SP102", "queue:payments"),
        ("SP103", "queue:loyalty"),
        ("SP104", "queue:payments"),
        ("SP105", "queue:payments-dlq"),
        ("SP106", "function:page_operator"),
    }
