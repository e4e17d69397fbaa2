"""Multi-row statements on PostgreSQL: a ``many`` statement as one statement with arrays.

``executemany`` runs the statement once per row on the server; ``INSERT ... SELECT FROM
unnest(arrays)`` runs it once for the whole batch, which is what makes a bulk send of
thousands of rows cheap (the ids still follow the rows' order: the select is ordered by
position). Only statements listed in :data:`ARRAY_FORMS` take this path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stormproof.storage.program import Params

# statement name -> (its array form in queries_bulk.sql, its array columns, the float
# ones among them, the columns every row shares: passed once, from the first row)
ARRAY_FORMS: dict[str, tuple[str, tuple[str, ...], frozenset[str], tuple[str, ...]]] = {
    "enqueue": (
        "enqueue_arrays",
        ("message_id", "body", "attributes", "group_id", "dedup_id", "delay"),
        frozenset({"delay"}),
        ("queue",),
    ),
}


def as_arrays(name: str, rows: Sequence[Params], now: float | None) -> tuple[str, dict[str, Any]]:
    """The array form's name and its parameters: one list per column, plus ``now``."""
    form, columns, floats, shared = ARRAY_FORMS[name]
    params: dict[str, Any] = {"now": now}
    for column in shared:
        params[column] = rows[0][column]
    for column in columns:
        values = [row[column] for row in rows]
        # One element type per array: psycopg refuses a list mixing int and float.
        params[column] = [float(v) for v in values] if column in floats else values
    return form, params
