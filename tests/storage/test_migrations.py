"""Applying every numbered migration yields exactly the declared schema."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from stormproof.storage import sqlfiles
from stormproof.storage.opening import open_store
from tests.conftest import require_postgres
from tests.support.postgres import drop_schema


def _sqlite_shape(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT IN "
            "('schema_migrations', 'sqlite_sequence') AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return [(t, n, " ".join(s.split())) for t, n, s in rows]


async def test_sqlite_migrations_equal_declared_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/migrated.db")
    await store.open()
    await store.close()
    declared = tmp_path / "declared.db"
    with sqlite3.connect(declared) as conn:
        conn.executescript(sqlfiles.schema("sqlite"))
    assert _sqlite_shape(tmp_path / "migrated.db") == _sqlite_shape(declared)


def _pg_shape(url: str, schema: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default IS NOT NULL,"
            " is_identity FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name <> 'schema_migrations' ORDER BY 1, 2",
            (schema,),
        ).fetchall()
        idx = conn.execute(
            "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s"
            " AND tablename <> 'schema_migrations' ORDER BY 1",
            (schema + ".", schema),
        ).fetchall()
    return cols, idx


async def test_postgres_migrations_equal_declared_schema(pg_base_url: str | None) -> None:
    base = require_postgres(pg_base_url)
    migrated, declared = f"m_{uuid.uuid4().hex[:10]}", f"d_{uuid.uuid4().hex[:10]}"
    try:
        store = open_store(f"{base}?schema={migrated}")
        await store.open()
        await store.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{declared}"')
            conn.execute(f'SET search_path TO "{declared}"')
            for statement in sqlfiles.statements(sqlfiles.schema("postgres")):
                conn.execute(statement.encode())
        assert _pg_shape(base, migrated) == _pg_shape(base, declared)
    finally:
        drop_schema(base, migrated)
        drop_schema(base, declared)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_named_query_exists_in_both_dialects(dialect: str) -> None:
    names = set(sqlfiles.queries(dialect))
    other = set(sqlfiles.queries("postgres" if dialect == "sqlite" else "sqlite"))
    # FIFO group heads: one LATERAL statement on PostgreSQL, one per group on SQLite.
    # Bulk inserts: one unnest() statement (or COPY) on PostgreSQL, json_each on SQLite.
    # Rate-limit grants: one statement on PostgreSQL, a writer transaction on SQLite.
    # Coalesced request records: unnest() on PostgreSQL, executemany of one row on SQLite.
    # Stream polls over many shard units: array statements on PostgreSQL, one per unit on
    # SQLite. Token grants: one statement on PostgreSQL, the writer's transaction on SQLite.
    # A step's save with its history, a kept task lease: one statement each on PostgreSQL
    # (batched units, storage/pg_pipeline.py), two on SQLite. A front-door group's records
    # counted in the statement (a batched unit judges its rows) on PostgreSQL.
    assert names - other <= {
        "fifo_group_head",
        "fifo_group_heads",
        "enqueue_arrays",
        "enqueue_json",
        "limit_take",
        "state_insert_new",
        "state_insert_arrays",
        "checkpoint_advance_units",
        "checkpoint_ensure_units",
        "checkpoint_take_units",
        "stream_read_units",
        "sfn_execution_save",
        "sfn_task_lease_keep",
        "state_insert_counted",
    }
