"""Multi-row statements on PostgreSQL: a ``many`` statement as one statement with arrays.

``executemany`` runs the statement once per row on the server; ``INSERT ... SELECT FROM
unnest(arrays)`` runs it once for the whole batch, which is what makes a bulk send of
thousands of rows cheap (the ids still follow the rows' order: the select is ordered by
position). Only statements listed in :data:`ARRAY_FORMS` take this path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
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


# Past this many rows a ``many`` statement listed in COPY_FORMS is sent with COPY (its
# rows as one text payload: no per-value binary dump) in a transaction of its own, not
# pipelined (COPY cannot be): 4 round trips instead of 1, which 100 rows pay for.
COPY_MIN = 100
# statement name -> (its COPY statement, its text columns, in the statement's order)
COPY_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "enqueue": (
        "COPY messages (queue, message_id, body, attributes, group_id, dedup_id,"
        " sent_at, enqueued_at, visible_at) FROM STDIN",
        ("queue", "message_id", "body", "attributes", "group_id", "dedup_id"),
    ),
}
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def copy_payload(name: str, rows: Sequence[Params], now: float) -> tuple[str, str]:
    """The COPY statement and its rows in COPY's text format; ``now`` is the database's
    clock (or the store's), read in the same transaction as the insert would read it."""
    statement, columns = COPY_FORMS[name]
    stamp = repr(float(now))
    cols: list[Iterable[str]] = [_text_column([row[c] for row in rows]) for c in columns]
    delays = {row["delay"] for row in rows}
    if len(delays) == 1:  # usually so: one visible_at for the whole batch
        visible: Iterable[str] = itertools.repeat(repr(now + float(delays.pop())))
    else:
        visible = [repr(now + float(row["delay"])) for row in rows]
    cols += [itertools.repeat(stamp), itertools.repeat(stamp), visible]
    # zip and str.join run in C: no Python per row (repeat() columns: islice ends it).
    lines = itertools.islice(zip(*cols, strict=False), len(rows))
    return statement, "\n".join(map("\t".join, lines)) + "\n"


def _text_column(values: list[Any]) -> Iterable[str]:
    """One column's values as COPY text: NULL as ``\\N``, special characters escaped."""
    nulls = values.count(None)
    if nulls == len(values):
        return itertools.repeat(_NULL)
    if nulls:
        return [_NULL if v is None else str(v).translate(_ESCAPES) for v in values]
    if _SPECIAL.search("".join(values)) is None:  # one scan of the column, in C
        return values
    return [v.translate(_ESCAPES) for v in values]
