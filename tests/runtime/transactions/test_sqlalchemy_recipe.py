"""The SQLAlchemy Core recipe of docs/transactions.md (skipped when SQLAlchemy is absent)."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof import App

sa = pytest.importorskip("sqlalchemy")
dialects = pytest.importorskip("sqlalchemy.dialects")


async def test_core_statements_run_on_the_transaction(store_url: str) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    meta = sa.MetaData()
    flights = sa.Table(
        "flights",
        meta,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("seats", sa.Integer),
    )
    by_dialect = {
        "sqlite": sqlite.dialect(paramstyle="named"),
        "postgres": postgresql.dialect(paramstyle="named"),
    }

    def run(db: Any, statement: Any) -> Any:
        compiled = statement.compile(dialect=by_dialect[db.dialect])
        return db.execute(str(compiled), compiled.params)

    app = App("sa", store_url)

    @app.transaction()
    def setup(db: Any, event: Any) -> Any:
        db.execute("CREATE TABLE flights (id TEXT PRIMARY KEY, seats INTEGER)")
        run(db, sa.insert(flights).values(id="F1", seats=1))

    @app.transaction()
    def reserve(db: Any, event: Any) -> Any:
        stmt = (
            sa.update(flights)
            .where(flights.c.id == event, flights.c.seats > 0)
            .values(seats=flights.c.seats - 1)
            .returning(flights.c.seats)
        )
        row = run(db, stmt).fetchone()
        return None if row is None else row[0]

    async with app:
        await setup.invoke()
        assert await reserve.invoke("F1") == 0
        assert await reserve.invoke("F1") is None
