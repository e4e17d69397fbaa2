"""A runaway read-only query is stopped at the budget and the step fails with
``States.Timeout`` (SQLite: a progress handler interrupts it; PostgreSQL:
``statement_timeout``), and the store's other work commits as usual (issue 19)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import TransactionTimeout
from stormproof.storage.sqlite_tx import read_only

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


async def test_a_runaway_query_times_out(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001_notes.sql").write_text("CREATE TABLE notes (n INTEGER NOT NULL);")
    app = App("t", store_url)
    app.sql_migrations(folder)

    @app.transaction(timeout=0.3)
    def runaway(db: Any, event: Any) -> Any:
        db.execute("INSERT INTO notes (n) VALUES (0)")
        return db.execute(RUNAWAY).fetchone()

    @app.transaction()
    def note(db: Any, event: Any) -> Any:
        db.execute("INSERT INTO notes (n) VALUES (:n)", {"n": event})
        return [r[0] for r in db.execute("SELECT n FROM notes ORDER BY n")]

    async with app:
        started = time.monotonic()
        results = await asyncio.gather(runaway.invoke(), note.invoke(1), return_exceptions=True)
        assert isinstance(results[0], TransactionTimeout)
        assert time.monotonic() - started < 5  # stopped near its budget, not left running
        assert await note.invoke(2) == [1, 2]  # the runaway's write rolled back, others held


def test_only_reads_are_interrupted() -> None:
    assert read_only("SELECT 1") and read_only("  with x as (select 1) select * from x")
    assert not read_only("UPDATE t SET a = 1")
    assert not read_only("WITH x AS (SELECT 1) DELETE FROM t")
    assert not read_only("INSERT INTO t SELECT 1")
    with pytest.raises(TypeError):
        read_only(None)  # type: ignore[arg-type]
