"""Event-bus storage: the archive table, as a unit-of-work operation and small programs.

Archive rows are written by :class:`ArchiveEvents`, an operation that goes into the same
unit of work as an event's deliveries, so an event is archived exactly when it is
published. Replays page through an archive by row id (``archive_page``) below the last id
that existed when the replay started, so events archived later are never replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.storage.base import EntryStatus, OpResult
from stormproof.storage.program import Dialect, Program, Stmt


@dataclass(frozen=True)
class ArchivedEvent:
    """One archive row to write: the archive's name, the event's id, time and JSON text."""

    archive: str
    event_id: str
    event_time: float
    body: str


@dataclass(frozen=True)
class ArchiveEvents:
    """Insert archive rows (a custom unit-of-work operation; it never goes stale)."""

    rows: Sequence[ArchivedEvent]

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """One multi-row insert."""
        if self.rows:
            params = [
                {
                    "archive": r.archive,
                    "event_id": r.event_id,
                    "event_time": r.event_time,
                    "body": r.body,
                }
                for r in self.rows
            ]
            yield Stmt("bus_archive_insert", params, many=True)
        return OpResult([EntryStatus.OK] * len(self.rows))

    def is_stale(self, result: OpResult) -> bool:
        """Inserting holds no lease."""
        return False


@dataclass(frozen=True)
class Window:
    """The archive rows a replay covers: ``start <= event_time < end`` and ``id <= last``."""

    archive: str
    start: float
    end: float
    last: int


def last_id(archive: str) -> Program[int]:
    """The highest row id of an archive (0 when empty)."""
    rows = yield Stmt("bus_archive_last_id", {"archive": archive})
    return int(rows[0][0])


def count(window: Window) -> Program[int]:
    """How many rows a replay window holds."""
    rows = yield Stmt("bus_archive_count", _params(window))
    return int(rows[0][0])


def page(window: Window, after: int, limit: int) -> Program[list[tuple[int, str]]]:
    """Up to ``limit`` rows ``(id, body)`` of the window with ids above ``after``."""
    rows = yield Stmt("bus_archive_page", {**_params(window), "after": after, "n": limit})
    return [(int(r[0]), str(r[1])) for r in rows]


def expire(archive: str, retention: float) -> Program[int]:
    """Delete rows archived more than ``retention`` seconds ago; returns how many."""
    rows = yield Stmt("bus_archive_expire", {"archive": archive, "retention": retention})
    return int(rows[0][0])


def stats() -> Program[dict[str, tuple[int, int]]]:
    """``{archive: (event count, bytes)}`` for every archive with rows."""
    rows = yield Stmt("bus_archive_stats")
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def _params(window: Window) -> dict[str, object]:
    return {
        "archive": window.archive,
        "start": window.start,
        "end": window.end,
        "last": window.last,
    }
