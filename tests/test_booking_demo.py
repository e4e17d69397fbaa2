"""``scripts/demo``'s main job, short: the booking demo with ``--no-serve`` on each store.

Real subprocesses (payment API, receiver, ``stormproof dev``, workers), real HTTP on
loopback, a real SQLite file or PostgreSQL schema; the summary is the reconciliation of
the client's answers, the flight table and the payment provider's ledger.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_postgres
from tests.support.postgres import drop_schema

ROOT = Path(__file__).resolve().parents[1]


def run_demo(
    tmp_path: Path, *extra: str, env: dict[str, str] | None = None, seconds: int = 9
) -> dict[str, Any]:
    """Run the demo for ``seconds`` of load; its summary (and its output must stay plain)."""
    summary = tmp_path / "summary.json"
    command = [
        sys.executable,
        "-m",
        "examples.booking.demo",
        "--no-serve",
        "--duration",
        str(seconds),
        "--rate",
        "8",
        "--folder",
        str(tmp_path / "run"),
        "--summary",
        str(summary),
        *extra,
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "\x1b[" not in done.stdout  # no TTY: plain lines, no escape codes
    assert "lost = 0, duplicates charged = 0, seats ok = True" in done.stdout
    assert "dashboard: http://127.0.0.1:" in done.stdout
    return dict(json.loads(summary.read_text()))


def check(summary: dict[str, Any], *, failures_expected: bool = True) -> None:
    """The claims of the summary (``failures_expected``: the run was long enough for the
    load's seed to have declined a card, so the alert path is exercised)."""
    assert summary["accepted"] > 20
    assert summary["lost"] == 0 and summary["duplicates_charged"] == 0
    assert summary["seats_ok"] is True
    settled = summary["confirmed"] + summary["compensated"] + summary["dead_lettered"]
    assert settled == summary["accepted"]
    assert summary["confirmed"] > 0 and summary["duplicates_sent"] > 0
    assert summary["notifications"] >= summary["accepted"]  # one signed event per booking
    # Every failed booking (the load's declined cards: its seed makes some) reached a human
    # through the failed-bookings alarm, with its event and the redrive command.
    failures = summary["compensated"] + summary["dead_lettered"]
    assert summary["alerted_bookings"] == failures
    if failures_expected:
        assert failures > 0 and summary["alarm_notifications"] > 0
    # The outage was a chaos fault; the breaker opened after it began, and the backlog that
    # waited in the queue drained.
    assert summary["outage"] == "chaos"
    assert summary["breaker_open_in"] and "normal" not in summary["breaker_open_in"]
    assert summary["backlog_end"] == 0


@pytest.mark.slow
@pytest.mark.timeout(240)  # a shared machine under load: the demo waits to settle
def test_demo_on_sqlite_loses_nothing_and_charges_once(tmp_path: Path) -> None:
    summary = run_demo(tmp_path)
    check(summary)
    assert summary["breaker_alarm"] is True  # the breaker's built-in alarm notified too


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_demo_on_postgres_with_two_workers(tmp_path: Path, pg_base_url: str | None) -> None:
    base = require_postgres(pg_base_url)
    schema = f"booking_{uuid.uuid4().hex[:10]}"
    try:
        summary = run_demo(
            tmp_path,
            "--postgres",
            "--workers",
            "2",
            env={"STORMPROOF_STORE": f"{base}?schema={schema}"},
            seconds=6,
        )
    finally:
        drop_schema(base, schema)
    # A shorter run than SQLite's: its few bookings may all go through, so the alert path
    # (every failure alerted) is checked when there are failures and required on SQLite.
    check(summary, failures_expected=False)
