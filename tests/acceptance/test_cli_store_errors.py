"""A bad or broken store URL is a one-line ``error:`` from the CLI, never a traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stormproof.errors import InvalidAttribute
from stormproof.storage.pg_url import parse_url
from tests.acceptance.test_cli_queues import cli, ok, one_line_error
from tests.conftest import require_postgres


def test_sqlite_folder_that_cannot_be_created() -> None:
    line = one_line_error(cli("sqlite:////sys/stormproof-nope/x.db", "queues", "create", "x"))
    assert "/sys/stormproof-nope" in line and "cannot create its folder" in line


def test_postgres_unknown_parameter_is_named(pg_base_url: str | None) -> None:
    base = require_postgres(pg_base_url)
    line = one_line_error(cli(f"{base}?foo=bar", "queues", "ls"))
    assert "'foo'" in line


@pytest.mark.parametrize("schema", ["nl%0A", "Upper", "a-b", "x" * 42])
def test_postgres_schema_is_matched_in_full(pg_base_url: str | None, schema: str) -> None:
    base = require_postgres(pg_base_url)
    line = one_line_error(cli(f"{base}?schema={schema}", "queues", "ls"))
    assert "schema of lower-case letters" in line


def test_url_parameters_are_validated_without_a_server() -> None:
    with pytest.raises(InvalidAttribute, match="'sslmod'"):
        parse_url("postgresql://u@h/db?sslmod=require")
    with pytest.raises(InvalidAttribute, match="schema"):
        parse_url("postgresql://u@h/db?schema=nl%0A")
    with pytest.raises(InvalidAttribute, match="deadline"):
        parse_url("postgresql://u@h/db?deadline=0")
    parsed = parse_url("postgresql://u@h/db?sslmode=disable&schema=s1&deadline=3")
    assert (parsed.schema, parsed.deadline) == ("s1", 3.0)
    assert "sslmode=disable" in parsed.dsn and "schema" not in parsed.dsn


def test_connection_refused_is_one_line() -> None:
    line = one_line_error(cli("postgresql://postgres@127.0.0.1:9/test", "queues", "ls"))
    assert "cannot connect to PostgreSQL" in line and "refused" in line


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[str]:
    """A store whose file is immutable (chattr +i); skipped loudly where unsupported."""
    url = f"sqlite:///{tmp_path}/s.db"
    ok(url, "queues", "create", "orders")
    ok(url, "queues", "send", "orders", "hi")
    db = str(tmp_path / "s.db")
    done = subprocess.run(["chattr", "+i", db], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"!!! chattr +i unsupported ({done.stderr.strip()}): test SKIPPED")
    try:
        yield url
    finally:
        subprocess.run(["chattr", "-i", db], check=False)


def test_read_only_store_prints_no_traceback(read_only_store: str) -> None:
    done = cli(read_only_store, "queues", "send", "orders", "x")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "read-only" in last, done.stderr
