"""Opening a SQLite store's connection: pragmas and migrations, safe under concurrency.

Several processes may open (and create) one file at the same moment. ``busy_timeout`` is
set before anything else, so lock waits are waited out. Two cases still return
``SQLITE_BUSY`` at once, because waiting could deadlock: switching a fresh file to WAL
while another connection holds a shared lock, and upgrading a read to a write. Those
steps are retried from the start until a deadline; migrations run inside ``BEGIN
IMMEDIATE`` so exactly one process applies each of them.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from stormproof.storage import sqlfiles
from stormproof.storage.sqlite_errors import is_busy

T = TypeVar("T")
BUSY_TIMEOUT = 30.0  # seconds a statement waits for another connection's lock
OPEN_DEADLINE = 30.0  # seconds opening retries the steps that cannot wait for a lock


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection in WAL mode with the schema migrated (retrying lock conflicts)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True, timeout=BUSY_TIMEOUT)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        _retrying(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
        _retrying(lambda: migrate(conn))
    except BaseException:
        conn.close()
        raise
    return conn


def _retrying(step: Callable[[], T], deadline: float = OPEN_DEADLINE) -> T:
    end = time.monotonic() + deadline
    delay = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + delay > end:
                raise
        # Jitter: processes that collided once must not collide again in lock step.
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.2)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending numbered migrations in one ``BEGIN IMMEDIATE`` transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, script in sqlfiles.migrations("sqlite"):
            if version in done:
                continue
            for statement in sqlfiles.statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
