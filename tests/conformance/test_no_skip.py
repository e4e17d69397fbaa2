"""The conformance suite fails rather than skips (issue 11, item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conformance import VECTORS

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import pytest

def test_skips() -> None:
    pytest.skip("no data")

@pytest.mark.xfail(strict=True, reason="documented deviation")
def test_expected_failure() -> None:
    assert False
"""

MODULE_SKIP = 'import pytest\npytest.skip("no data", allow_module_level=True)\n'


def _run_probe(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "from tests.conformance.conftest import (\n"
        "    pytest_collectstart, pytest_make_collect_report, pytest_runtest_makereport)\n"
    )
    (tmp_path / "test_probe.py").write_text(body)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_vectors_are_in_the_repository() -> None:
    names = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*.json")}
    assert len(names) == 5
    assert (VECTORS / "LICENSE").is_file()
    assert "localstack" in (VECTORS / "NOTICE").read_text(encoding="utf-8").lower()


def test_a_skipped_conformance_test_fails(tmp_path: Path) -> None:
    done = _run_probe(tmp_path, PROBE)
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout and "1 xfailed" in done.stdout, done.stdout


def test_a_module_level_skip_fails(tmp_path: Path) -> None:
    done = _run_probe(tmp_path, MODULE_SKIP)
    assert done.returncode != 0, done.stdout
    assert "a skip is a failure here" in done.stdout, done.stdout


def test_nothing_in_the_repository_points_outside_it() -> None:
    pattern = "../" + "shared"  # split so this file does not match itself
    hits = [
        str(path.relative_to(ROOT))
        for top in ("README.md", "docs", "tests", "src")
        for path in ([ROOT / top] if (ROOT / top).is_file() else (ROOT / top).rglob("*"))
        if path.is_file()
        and path.suffix in {".md", ".py", ".toml", ""}
        and pattern in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert hits == []
