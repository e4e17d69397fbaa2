"""The queue benchmark's bare loop: the same workload with no stormproof code in the path.

It runs on a store that stormproof's own migrations created (so the schema is the same)
and executes the same named statements of ``queries.sql`` (``enqueue``,
``claim_standard``, ``delete_leased``) with the same batching: sends are an
``executemany`` of 10 rows per transaction, claims take 10, deletes remove 10 per
transaction. Each of the C consumers is a thread with its own connection; the producer
has one more. SQLite consumers serialise their write transactions on one Python lock
(SQLite admits one writer at a time; without the lock its busy handler's sleeps, not the
work, would set the pace).

It has no wake-up mechanism: a consumer that finds the queue empty sleeps :data:`POLL`
seconds and claims again. This module also holds what both paths of the benchmark share:
message bodies, the exactly-once tally and the figures a path reports.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg import sql as pgsql

from stormproof.storage import sqlfiles
from stormproof.storage.program import Row

QUEUE = "bench"
BATCH = 10
POLL = 0.001
VISIBILITY = 30.0
RETENTION = 345600.0
_PAD = "x" * 56


def body_of(index: int) -> str:
    """The body of message ``index`` (about 60 bytes)."""
    return f"{index}:{_PAD}"


def index_of(body: str) -> int:
    """The index a body was made from."""
    return int(body.partition(":")[0])


@dataclass
class Tally:
    """Which messages a phase processed (for the exactly-once check) and when it ended."""

    expected: int
    seen: list[int] = field(default_factory=list)
    done_at: float | None = None
    failed: bool = False
    _distinct: set[int] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def closed(self) -> bool:
        """Every expected message was processed, or a consumer failed."""
        return self.done_at is not None or self.failed

    def add(self, indexes: Iterable[int]) -> None:
        """Record processed messages; the phase ends when all expected ones are in."""
        with self._lock:
            batch = list(indexes)
            self.seen.extend(batch)
            self._distinct.update(batch)
            if self.done_at is None and len(self._distinct) >= self.expected:
                self.done_at = time.perf_counter()


@dataclass(frozen=True)
class PathFigures:
    """Throughput of one path, and the exactly-once check over all its phases."""

    send_per_s: float
    receive_delete_per_s: float
    end_to_end_per_s: float
    processed: int
    duplicates: int
    missing: int


def figures(
    n: int, send_s: float, drain_s: float, e2e_s: float, tallies: list[Tally]
) -> PathFigures:
    """Figures from phase durations (each phase moves ``n`` messages) and tallies."""
    seen = [i for t in tallies for i in t.seen]
    expected = sum(t.expected for t in tallies)
    distinct = len(set(seen))
    return PathFigures(
        send_per_s=n / send_s,
        receive_delete_per_s=n / drain_s,
        end_to_end_per_s=n / e2e_s,
        processed=len(seen),
        duplicates=len(seen) - distinct,
        missing=expected - distinct,
    )


# --- connections ------------------------------------------------------------------


class Link(Protocol):
    """One connection of the bare loop, running one statement per transaction."""

    def send(self, rows: list[dict[str, Any]]) -> None:
        """Insert rows (one transaction)."""

    def claim(self, token: str) -> list[Row]:
        """Lease up to :data:`BATCH` messages (one transaction)."""

    def delete(self, ids: list[int], keys: list[str]) -> None:
        """Delete leased messages (one transaction)."""

    def close(self) -> None:
        """Close the connection."""


def _claim_params(token: str) -> dict[str, Any]:
    return {"queue": QUEUE, "n": BATCH, "vt": VISIBILITY, "token": token, "retention": RETENTION}


class SqliteLink:
    """A SQLite connection with the store's pragmas; write transactions share ``lock``."""

    def __init__(self, path: str, synchronous: str, lock: threading.Lock) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "busy_timeout=30000"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._lock = lock
        self._sql = sqlfiles.queries("sqlite")

    def _write(self, name: str, params: dict[str, Any]) -> list[Row]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            rows = self._conn.execute(self._sql[name], {**params, "now": time.time()}).fetchall()
            self._conn.execute("COMMIT")
        return rows

    def send(self, rows: list[dict[str, Any]]) -> None:
        """Insert rows with one ``executemany`` in one transaction."""
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(self._sql["enqueue"], [{**r, "now": now} for r in rows])
            self._conn.execute("COMMIT")

    def claim(self, token: str) -> list[Row]:
        """Run ``claim_standard``."""
        return self._write("claim_standard", _claim_params(token))

    def delete(self, ids: list[int], keys: list[str]) -> None:
        """Run ``delete_leased`` (list parameters as JSON text, as the store binds them)."""
        self._write(
            "delete_leased", {"queue": QUEUE, "ids": json.dumps(ids), "keys": json.dumps(keys)}
        )

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class PostgresLink:
    """A psycopg connection whose ``search_path`` is the benchmark's schema."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._conn = psycopg.connect(dsn, autocommit=False)
        self._conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
        self._conn.commit()
        self._sql = {k: v.encode() for k, v in sqlfiles.queries("postgres").items()}

    def _write(self, name: str, params: dict[str, Any]) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(self._sql[name], {**params, "now": None}, prepare=True)
            rows = cur.fetchall()
        self._conn.commit()
        return rows

    def send(self, rows: list[dict[str, Any]]) -> None:
        """Insert rows with one ``executemany`` in one transaction."""
        with self._conn.cursor() as cur:
            cur.executemany(self._sql["enqueue"], [{**r, "now": None} for r in rows])
        self._conn.commit()

    def claim(self, token: str) -> list[Row]:
        """Run ``claim_standard``."""
        return self._write("claim_standard", _claim_params(token))

    def delete(self, ids: list[int], keys: list[str]) -> None:
        """Run ``delete_leased``."""
        self._write("delete_leased", {"queue": QUEUE, "ids": ids, "keys": keys})

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


# --- the loop ---------------------------------------------------------------------


def send_range(link: Link, start: int, n: int) -> None:
    """Send messages ``start .. start + n - 1`` in batches of :data:`BATCH`."""
    for first in range(start, start + n, BATCH):
        link.send(
            [
                {
                    "queue": QUEUE,
                    "message_id": str(uuid.uuid4()),
                    "body": body_of(i),
                    "attributes": None,
                    "group_id": None,
                    "dedup_id": None,
                    "delay": 0.0,
                }
                for i in range(first, min(first + BATCH, start + n))
            ]
        )


def consume(link: Link, tally: Tally) -> None:
    """Claim and delete batches until the phase is over; poll when the queue is empty."""
    try:
        while not tally.closed:
            token = secrets.token_hex(8)
            rows = link.claim(token)
            if not rows:
                time.sleep(POLL)
                continue
            link.delete([r[0] for r in rows], [f"{r[0]}:{token}" for r in rows])
            tally.add(index_of(r[2]) for r in rows)
    except BaseException:
        tally.failed = True
        raise


def _phase(links: list[Link], tally: Tally, produce_from: int | None) -> float:
    """Run consumers (and the producer, if ``produce_from`` is set); seconds to the end."""
    producer, consumers = links[0], links[1:]
    with ThreadPoolExecutor(len(consumers), thread_name_prefix="bare") as pool:
        start = time.perf_counter()
        futures = [pool.submit(consume, link, tally) for link in consumers]
        try:
            if produce_from is not None:
                send_range(producer, produce_from, tally.expected)
        except BaseException:
            tally.failed = True
            raise
        for future in futures:
            future.result()
    assert tally.done_at is not None
    return tally.done_at - start


def run_links(links: list[Link], n: int) -> PathFigures:
    """The three phases: send ``n``; drain them; send ``n`` more while consuming."""
    start = time.perf_counter()
    send_range(links[0], 0, n)
    send_s = time.perf_counter() - start
    drained = Tally(n)
    drain_s = _phase(links, drained, None)
    both = Tally(n)
    e2e_s = _phase(links, both, n)
    return figures(n, send_s, drain_s, e2e_s, [drained, both])


def run_sqlite(path: str, synchronous: str, n: int, consumers: int) -> PathFigures:
    """The bare loop on an existing (migrated) SQLite file."""
    lock = threading.Lock()
    links: list[Link] = [SqliteLink(path, synchronous, lock) for _ in range(consumers + 1)]
    try:
        return run_links(links, n)
    finally:
        for link in links:
            link.close()


def run_postgres(dsn: str, schema: str, n: int, consumers: int) -> PathFigures:
    """The bare loop on an existing (migrated) PostgreSQL schema."""
    links: list[Link] = []
    try:
        links.extend(PostgresLink(dsn, schema) for _ in range(consumers + 1))
        return run_links(links, n)
    finally:
        for link in links:
            link.close()
