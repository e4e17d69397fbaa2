"""The peer comparison's harness works with no peer installed: stormproof on SQLite only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "bench" / "peers" / "run.py"


def test_harness_counts_every_job_once(tmp_path: Path) -> None:
    """200 jobs enqueued and drained in a subprocess: none lost, none duplicated."""
    cmd = [
        sys.executable,
        str(RUN),
        "--n",
        "200",
        "--c",
        "4",
        "--rounds",
        "1",
        "--peers",
        "stormproof-sqlite",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (result,) = json.loads((tmp_path / "results.json").read_text())
    assert "error" not in result, result
    assert (result["n"], result["lost"], result["duplicates"], result["unexpected"]) == (
        200,
        0,
        0,
        0,
    )
    assert result["enqueue_per_s"] > 0 and result["drain_per_s"] > 0
    summary = (tmp_path / "summary.md").read_text()
    assert "| stormproof-sqlite | SQLite |" in summary


def test_unknown_peer_is_refused_with_the_allowed_names(tmp_path: Path) -> None:
    """A typo in --peers names the value and the peers there are."""
    cmd = [sys.executable, str(RUN), "--peers", "stormproof-sqlite,nope", "--out", str(tmp_path)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown nope" in done.stderr and "stormproof-postgresql" in done.stderr
