"""Property: whatever arguments a command gets, a failure is one ``error: ...`` line on
stderr with a non-zero exit, and never an internal error (issue 12 item 5).

Run in-process with click's CliRunner (bounded examples) on a throwaway SQLite store.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormproof.cli import main

LONG_RUNNING = {("bench",), ("worker",)}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if path[:1] in LONG_RUNNING:
            continue
        if isinstance(command, click.Group):
            out += _commands(command, path)
        else:
            out.append(path)
    return out


COMMANDS = _commands(main)


def _options(path: tuple[str, ...]) -> list[str]:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return [opt for p in command.params for opt in p.opts if opt.startswith("-")]


words = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
tricky = st.sampled_from(
    ["orders\n", "_fn-x", "@/nonexistent", "NaN", "1e20", "-1", "[" * 200, "{}", "@-", "x.fifo"]
)


def check(result: click.testing.Result) -> None:
    if result.exit_code == 0:
        return
    lines = result.stderr.splitlines()
    assert len(lines) >= 1, (result.exit_code, result.output)
    assert lines[-1].startswith("error: "), result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    # Only `machines validate` lists problems (on stdout); stderr is one line.
    assert len(lines) == 1, result.stderr


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_any_arguments_fail_in_one_line(path: tuple[str, ...], tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    options = _options(path)

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(words | tricky | st.sampled_from(options or ["--json"]), max_size=4))
    def run(args: list[str]) -> None:
        result = runner.invoke(main, ["--store", store, *path, *args], input="")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        check(result)

    run()


def test_worker_usage_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["worker"], ["worker", "--concurrency", "x", "a:b"], ["worker", "nosuch:app"]):
        result = runner.invoke(main, ["--store", f"sqlite:///{tmp_path}/w.db", *args])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_root_usage_errors_are_one_line() -> None:
    for args in (["nosuchcmd"], ["--store"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_test_pattern_from_a_missing_file_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["events", "test-pattern", "@/nonexistent", "{}"])
    assert result.exit_code == 2
    assert (
        result.stderr == "error: PATTERN: cannot read '/nonexistent': No such file or directory\n"
    )


def test_machines_validate_on_a_non_utf8_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe{")
    result = CliRunner().invoke(main, ["machines", "validate", str(path)])
    assert result.exit_code == 1
    assert "cannot read the definition file" in result.stdout
    assert result.stderr.startswith("error: 1 problem(s)")


def test_queue_name_with_a_newline_is_refused(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/q.db"
    result = CliRunner().invoke(main, ["--store", store, "queues", "create", "orders\n"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid name='orders\\n'")
    listed = CliRunner().invoke(main, ["--store", store, "queues", "ls", "--json"])
    assert listed.exit_code == 0 and "orders" not in listed.stdout
