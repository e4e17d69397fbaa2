"""SQLite failures translated into :class:`~stormproof.errors.StoreError` with a cause.

The cause is what an operator must act on (free space, restore write permission, restore
the file from a backup), so it comes from SQLite's extended error code rather than from
the message text, which differs between SQLite versions.
"""

from __future__ import annotations

import os
import sqlite3

from stormproof.errors import StoreError

# Longest prefix first: SQLITE_IOERR_WRITE is an I/O error, SQLITE_READONLY_DBMOVED read-only.
_CAUSES = (
    ("SQLITE_FULL", "disk full"),
    ("SQLITE_READONLY", "read-only"),
    ("SQLITE_IOERR", "I/O error"),
    ("SQLITE_CORRUPT", "corrupt"),
    ("SQLITE_NOTADB", "corrupt"),
    ("SQLITE_BUSY", "locked"),
    ("SQLITE_LOCKED", "locked"),
    ("SQLITE_CANTOPEN", "cannot open"),
    ("SQLITE_PERM", "read-only"),
    ("SQLITE_AUTH", "read-only"),
)


def cause_of(exc: sqlite3.Error, path: str) -> str | None:
    """The kind of failure behind ``exc``, or None when SQLite gives no code we know."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    cause = next((c for prefix, c in _CAUSES if name.startswith(prefix)), None)
    if cause == "I/O error" and not _writable(path):
        # An immutable (chattr +i) or read-only file shows up as a failed write.
        return "read-only"
    return cause


def _writable(path: str) -> bool:
    return all(
        os.access(p, os.W_OK) for p in (path, f"{path}-wal", f"{path}-shm") if os.path.exists(p)
    )


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` is a lock conflict worth retrying (SQLITE_BUSY or SQLITE_LOCKED)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)


def translate(exc: sqlite3.Error, path: str, doing: str | None = None) -> StoreError:
    """A StoreError naming the store, what was being done, the cause and SQLite's text."""
    cause = cause_of(exc, path)
    what = f"{doing} failed: " if doing else ""
    detail = f"{cause} ({exc})" if cause else str(exc)
    return StoreError(f"SQLite store {path}: {what}{detail}", cause=cause)
