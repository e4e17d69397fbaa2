"""Multi-row statements on SQLite: a ``many`` statement as one statement over JSON rows.

``executemany`` binds every row from Python (a dict per row, then each value): about a
third of a bulk send's time in the writer thread. The forms listed in :data:`JSON_FORMS`
take the whole batch as one JSON array of arrays, built by ``json.dumps`` and read by
``json_each``, both in C; rows are inserted in the batch's order (``ORDER BY r.key``).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

from stormproof.storage.program import Params

# statement name -> (its JSON form in queries_bulk.sql, a row's values in the form's
# order, the columns every row shares: passed once, from the first row)
JSON_FORMS: dict[str, tuple[str, Callable[[Params], Any], tuple[str, ...]]] = {
    "enqueue": (
        "enqueue_json",
        operator.itemgetter("message_id", "body", "attributes", "group_id", "dedup_id", "delay"),
        ("queue",),
    ),
}


def as_json(name: str, rows: Sequence[Params], now: float) -> tuple[str, dict[str, Any]]:
    """The JSON form's name and its parameters: ``rows`` as one JSON text, plus ``now``."""
    form, values, shared = JSON_FORMS[name]
    params: dict[str, Any] = {column: rows[0][column] for column in shared}
    params["now"] = now
    # allow_nan=False: NaN is not JSON; a NaN delay fails here rather than in json_each.
    params["rows"] = json.dumps(list(map(values, rows)), allow_nan=False)
    return form, params
