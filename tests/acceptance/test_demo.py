"""The demo (scripts/demo's main job) runs to the end and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "queue_demo.py"


def test_demo_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_MESSAGES": "400", "DEMO_RATE": "2000", "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "sent 400, processed 400, dead-lettered 8, redriven 8, lost = 0" in done.stdout
