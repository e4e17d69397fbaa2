"""Fixtures shared by every test: a store URL per backend.

``store_url`` is parametrised over SQLite (a fresh file per test) and PostgreSQL (one
database per run, one schema per test). Without PostgreSQL the PostgreSQL half is
skipped with a loud reason, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import drop_schema, postgres_url

BACKENDS = ["sqlite", "postgres"]
_NO_PG = (
    "PostgreSQL unavailable: no STORMPROOF_TEST_POSTGRES_URL, no server on 127.0.0.1:5432,"
    " no Debian binaries"
)


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str | None]:
    """A PostgreSQL server for this run, or None."""
    with postgres_url() as url:
        yield url


def require_postgres(url: str | None) -> str:
    """Skip (or fail under CI=true) without PostgreSQL."""
    if url is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{_NO_PG} (CI=true makes the PostgreSQL suite mandatory)")
        pytest.skip(f"!!! {_NO_PG}: PostgreSQL tests SKIPPED")
    return url


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_base_url: str | None
) -> Iterator[str]:
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/stormproof.db"
        return
    base = require_postgres(pg_base_url)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield _with_schema(base, schema)
    drop_schema(base, schema)


@pytest.fixture
def pg_store_url(pg_base_url: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL store URL, for behaviour only PostgreSQL has."""
    base = require_postgres(pg_base_url)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield _with_schema(base, schema)
    drop_schema(base, schema)


@pytest.fixture
def backend(store_url: str) -> str:
    """The backend name of ``store_url``."""
    return "sqlite" if store_url.startswith("sqlite") else "postgres"


@pytest.fixture(autouse=True)
def _no_leaked_event_subscribers() -> Iterator[None]:
    """Runtime-event subscribers are process-global: a test (or an in-process CLI run)
    that subscribes and never unsubscribes must not change what later tests observe."""
    from stormproof.engine import events

    before = events._subscribers
    yield
    events._subscribers = before
