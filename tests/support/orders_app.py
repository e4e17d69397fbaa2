"""The "orders" workload of the multi-host test: a front-door route, a queue, a mapping.

``POST /orders`` (``Idempotency-Key`` required) stores each order on the ``orders`` queue
and answers 202; the mapping's handler records the order with an idempotent insert into
a table of its own in the same PostgreSQL database (schema ``<store schema>_orders``,
found from ``STORMPROOF_STORE``) and counts the deliveries, then reports the request
succeeded. So after any crash or partition:

- every accepted order has exactly one row (the insert is idempotent), else it was lost;
- ``deliveries - 1`` is the at-least-once redelivery of a row (allowed, and counted);
- every accepted request's record is ``succeeded`` once its message is deleted.

The handler opens one connection per process and drops it on any error, so a worker that
lost the network reconnects on its next message.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

import psycopg

from stormproof import App
from stormproof.storage.pg_url import parse_url
from stormproof.storage.request_ops import PREFIX, RequestRecord

app = App("orders")
orders = app.queue("orders", visibility_timeout=6)
_conn: psycopg.AsyncConnection[Any] | None = None

ORDER_SCHEMA = {
    "type": "object",
    "required": ["order"],
    "properties": {"order": {"type": "string", "minLength": 1, "maxLength": 64}},
}

_UPSERT = (
    "INSERT INTO processed (id, deliveries, host) VALUES (%s, 1, %s) ON CONFLICT (id) "
    "DO UPDATE SET deliveries = processed.deliveries + 1, host = EXCLUDED.host"
)


def where(store_url: str) -> tuple[str, str]:
    """The libpq connection string and the orders schema for a store URL."""
    parsed = parse_url(store_url)
    return parsed.dsn, f"{parsed.schema}_orders"


async def _connection() -> psycopg.AsyncConnection[Any]:
    global _conn
    if _conn is None or _conn.closed:
        dsn, schema = where(os.environ["STORMPROOF_STORE"])
        _conn = await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, connect_timeout=3, options=f"-c search_path={schema}"
        )
    return _conn


@app.function(timeout=1)  # x 6 = the visibility timeout (AWS's rule)
async def record_orders(event: Any, context: Any) -> None:
    """Insert (or count again) one row per order, then complete its request."""
    global _conn
    for record in event["Records"]:
        order = json.loads(record["body"])["order"]
        try:
            conn = await _connection()
            await conn.execute(_UPSERT, (order, os.environ.get("MULTIHOST_HOST", "?")))
        except BaseException:
            if _conn is not None:  # a broken connection is never reused
                await _conn.close()
                _conn = None
            raise
        request_id = record["messageAttributes"].get("stormproof-request-id", {}).get("stringValue")
        if request_id:
            context.complete_request({"order": order}, request_id=request_id)


app.consume(orders, record_orders, batch_size=5)
app.api.post(
    "/orders",
    to=orders,
    idempotency="Idempotency-Key",
    idempotency_required=True,
    schema=ORDER_SCHEMA,
)


def create_table(store_url: str) -> None:
    """Make the handler's schema and table (before any worker starts: no racing DDL)."""
    dsn, schema = where(store_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".processed '
            "(id TEXT PRIMARY KEY, deliveries INTEGER NOT NULL, host TEXT NOT NULL)"
        )


def processed(store_url: str) -> dict[str, tuple[int, str]]:
    """Every recorded order with its delivery count and the host that recorded it last."""
    dsn, schema = where(store_url)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f'SELECT id, deliveries, host FROM "{schema}".processed').fetchall()
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def drop(store_url: str) -> None:
    """Drop the handler's schema."""
    dsn, schema = where(store_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _settling(store_url: str) -> tuple[int, dict[str, str]]:
    """The orders queue's backlog and every request record's state, by request id."""
    async with App("reconcile", store_url) as reader:
        counts = await reader.store.counts("orders")
        records = await reader.store.list_states(PREFIX)
    states = {r.key[len(PREFIX) :]: RequestRecord.from_json(r.value).state for r in records}
    return counts.visible + counts.in_flight + counts.delayed, states


def settled(store_url: str, sent: list[dict[str, Any]]) -> bool:
    """Whether the queue is empty and every accepted order's request succeeded."""
    backlog, states = asyncio.run(_settling(store_url))
    accepted = [o["request_id"] for o in sent if o["status"] == 202]
    return backlog == 0 and all(states.get(rid) == "succeeded" for rid in accepted)


def reconcile(store_url: str, sent: list[dict[str, Any]]) -> dict[str, Any]:
    """What the load generator sent against what the store and the table hold."""
    backlog, states = asyncio.run(_settling(store_url))
    rows = processed(store_url)
    accepted = {o["order"]: o["request_id"] for o in sent if o["status"] == 202}
    dups = [o for o in sent if o.get("duplicate")]
    return {
        "orders": len(sent),
        "accepted": len(accepted),
        "unanswered": sum(o["status"] is None for o in sent),
        "processed": len(rows),
        "lost": sum(order not in rows for order in accepted),
        "unsettled": sum(states.get(rid) != "succeeded" for rid in accepted.values()),
        "backlog": backlog,
        "redelivered": sum(d - 1 for d, _ in rows.values()),
        "by_host": dict(sorted(Counter(h for _, h in rows.values()).items())),
        "unknown_rows": len(set(rows) - {o["order"] for o in sent}),
        "duplicates_sent": len(dups),
        "duplicate_mismatch": sum(
            o["duplicate"].get("request_id") != o["request_id"] for o in dups
        ),
        "retried": sum(o["attempts"] > 1 for o in sent),
    }
