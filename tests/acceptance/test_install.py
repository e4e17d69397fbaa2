"""A bare install works (issue 11, item 1): stormproof imports, its CLI runs and a SQLite
queue sends and receives with every optional extra's modules hidden, and JSONata (which
any definition may use) is a core dependency. scripts/check-install (run by .ci/run) does
the same from real fresh venvs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Top-level modules each optional dependency installs.
EXTRA_MODULES = {
    "psycopg": ["psycopg", "psycopg_binary", "psycopg_c"],
    "psycopg-pool": ["psycopg_pool"],
    "jsonata-python": ["jsonata"],
}

HIDE = """
import sys, importlib.abc
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden: not installed)")
        return None
sys.meta_path.insert(0, Hide())
"""


def _distribution(requirement: str) -> str:
    return requirement.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip()


def _hidden_modules() -> list[str]:
    """The modules of every optional dependency that the core dependencies do not name."""
    core = {_distribution(r) for r in PYPROJECT["project"]["dependencies"]}
    optional = {
        _distribution(r)
        for reqs in PYPROJECT["project"]["optional-dependencies"].values()
        for r in reqs
        if not r.startswith("stormproof")
    }
    return sorted(m for dist in optional - core for m in EXTRA_MODULES.get(dist, [dist]))


def _run_bare(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = HIDE.format(hidden=_hidden_modules()) + code
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_jsonata_is_a_core_dependency() -> None:
    core = {_distribution(r) for r in PYPROJECT["project"]["dependencies"]}
    assert "jsonata-python" in core


def test_the_postgres_modules_really_are_hidden(tmp_path: Path) -> None:
    assert "psycopg" in _hidden_modules()
    done = _run_bare("import psycopg", tmp_path)
    assert done.returncode != 0 and "hidden: not installed" in done.stderr


def test_without_extras_stormproof_imports_and_runs_a_queue(tmp_path: Path) -> None:
    smoke = ROOT / "scripts" / "smoke_install.py"
    code = (
        "import runpy, stormproof.cli, stormproof.core.asl.jsonata_mode\n"
        f"runpy.run_path({str(smoke)!r}, run_name='__main__')"
    )
    done = _run_bare(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sqlite send/receive ok" in done.stdout


def test_without_extras_the_cli_answers_help_and_version(tmp_path: Path) -> None:
    code = "import sys; sys.argv = ['stormproof', '{}']\nfrom stormproof.cli import main\nmain()"
    for flag in ("--help", "--version"):
        done = _run_bare(code.format(flag), tmp_path)
        assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stormproof 0.1.0")


def test_ci_runs_the_install_checks_before_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("scripts/check-install") < ci.index("exec bash scripts/test")
    check = (ROOT / "scripts" / "check-install").read_text(encoding="utf-8")
    assert 'fresh_venv bare "$repo"' in check and 'fresh_venv pg "$repo[postgres]"' in check
