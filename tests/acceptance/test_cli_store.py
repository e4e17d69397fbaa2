"""Read-only commands never create a store (issue 11, item 8): only commands that create
something (``queues create``, ``migrate``) do; the others name the store they looked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = [
    ("queues", "ls"),
    ("queues", "stats", "orders"),
    ("queues", "send", "orders", "hello"),
    ("queues", "receive", "orders"),
    ("dlq", "status", "orders"),
    ("executions", "ls"),
    ("executions", "describe", "some-execution"),
    ("machines", "ls"),
    ("functions", "ls", "tests.acceptance.apps.cli_app:app"),
    ("events", "rules"),
    ("events", "archives"),
]


def run_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in ``cwd`` with no STORMPROOF_STORE set."""
    env = {k: v for k, v in os.environ.items() if k != "STORMPROOF_STORE"}
    env["PYTHONPATH"] = str(ROOT)  # for the test app module
    return subprocess.run(
        [sys.executable, "-m", "stormproof", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_in_an_empty_directory_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    done = run_in(tmp_path, *command)
    assert done.returncode == 1, (done.stdout, done.stderr)
    expected = f"error: no store at {tmp_path / '.stormproof' / 'stormproof.db'}"
    assert done.stderr.startswith(expected), done.stderr
    assert "run 'stormproof migrate' or start the app first" in done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name != "__pycache__"] == []


def test_a_missing_store_folder_is_not_created(tmp_path: Path) -> None:
    done = run_in(tmp_path, "--store", "sqlite:///nodir/x/y.db", "queues", "ls")
    assert done.returncode == 1
    assert f"no store at {tmp_path / 'nodir' / 'x' / 'y.db'}" in done.stderr
    assert "[store: sqlite:///nodir/x/y.db]" in done.stderr
    assert not (tmp_path / "nodir").exists()


def test_create_and_migrate_create_the_store(tmp_path: Path) -> None:
    assert run_in(tmp_path, "migrate").returncode == 0
    assert (tmp_path / ".stormproof" / "stormproof.db").is_file()
    other = run_in(tmp_path, "--store", "sqlite:///new/q.db", "queues", "create", "orders")
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "new" / "q.db").is_file()


def test_queues_ls_names_the_store(tmp_path: Path) -> None:
    assert run_in(tmp_path, "queues", "create", "orders").returncode == 0
    listing = run_in(tmp_path, "queues", "ls")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0] == "store: sqlite:///.stormproof/stormproof.db"
    missing = run_in(tmp_path, "queues", "stats", "nope")
    assert missing.stderr.strip() == (
        "error: queue 'nope' does not exist [store: sqlite:///.stormproof/stormproof.db]"
    )
