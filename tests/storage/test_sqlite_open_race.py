"""Several processes opening and migrating one fresh SQLite file at once never fail.

Before the fix about one round in 40 failed with ``database is locked``: switching a
fresh file to WAL and upgrading to a write can return SQLITE_BUSY without waiting.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROUNDS, PROCESSES = 25, 4
pytestmark = pytest.mark.slow  # about 4 s alone, longer on a busy machine


def test_processes_open_one_fresh_file_at_once(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tests.storage.open_race_proc", str(tmp_path)]
    done = subprocess.run(
        [*cmd, str(ROUNDS), str(PROCESSES)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("failures 0")
    for r in range(ROUNDS):
        with sqlite3.connect(tmp_path / f"r{r}.db") as conn:
            assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == PROCESSES
