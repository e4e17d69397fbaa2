"""Transactions that run user code: the ``db`` handle and the operation that calls it.

A :class:`RunTransaction` in a unit of work runs a synchronous function with a handle on
the unit's own connection, inside the unit's transaction (on SQLite in the writer
thread, inside the unit's SAVEPOINT; on PostgreSQL on the unit's pooled connection).
So the function's writes commit or roll back with everything else in the unit: a step's
history, the next step's message, the deletion of the message that caused it. The
drivers run the call (``program.Call``); this module is what they share.

A **lost COMMIT** (the connection drops after COMMIT was sent, before the reply) makes
the PostgreSQL store run the whole unit again on a new connection, though the first run
may have committed. A unit with a ``guard`` (a task's message deletion) needs nothing
more: the guard runs first, and on a rerun after a commit its lease is stale, so the unit
stops (:class:`~stormproof.errors.StaleLease`) before the function runs. Any other unit
records an outcome row, ``txn/<unit-id>`` in the ``state`` table, in its own
transaction (one INSERT: the first run cannot meet one, so only a rerun reads it); a
rerun that finds it raises :class:`AlreadyCommitted` with the recorded value instead of
running the function twice. The app's maintenance pass deletes outcome rows older than
:data:`OUTCOME_TTL`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stormproof.errors import SqlError
from stormproof.storage import unit_ops
from stormproof.storage.base import Operation, OpResult
from stormproof.storage.program import Call, CallFailed, Dialect, Program, Row, Stmt

DEFAULT_BUDGET = 1.0
OUTCOME_PREFIX = "txn/"
OUTCOME_TTL = 3600.0  # seconds an outcome row is kept: far past any store retry deadline


class AlreadyCommitted(Exception):
    """A rerun of a unit whose first run committed (a lost COMMIT): ``value`` is the
    function's recorded result; nothing ran again and nothing of the rerun holds."""

    def __init__(self, unit_id: str, value: Any) -> None:
        self.unit_id = unit_id
        self.value = value
        super().__init__(f"transaction unit {unit_id} already committed")


@dataclass(frozen=True)
class SqlResult:
    """What ``db.execute`` returns: the rows, their column names and the affected count."""

    rows: list[Row]
    rowcount: int
    columns: list[str] = field(default_factory=list)

    def fetchone(self) -> Row | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        """Every row."""
        return list(self.rows)

    def mappings(self) -> list[dict[str, Any]]:
        """Every row as ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


class SqlHandle(Protocol):
    """The ``db`` a transaction function receives (bound to the current transaction)."""

    dialect: str

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> SqlResult:
        """Run one statement with ``:name`` parameters, always bound."""
        ...


def refuse_control(sql: str, controls: Callable[[str], bool]) -> None:
    """A transaction function may not begin, commit or roll back the store's transaction."""
    if controls(sql):
        raise SqlError(f"transaction control is the store's, not the function's: {sql[:40]!r}")


@dataclass(frozen=True)
class RunTransaction:
    """Run ``run(db)`` in the unit's transaction, then the operations ``then(value)`` makes.

    ``then`` lets what commits with the writes depend on the function's result (a task's
    outcome in the next step's message). An exception rolls the whole unit back, unless
    there is ``failed``: then the function runs in a SAVEPOINT, its exception rolls back
    only its own writes, and the operations ``failed(exc)`` makes commit instead of
    ``then``'s (a step records the failure as the task's outcome, for Retry and Catch).
    ``failed`` needs a ``guard``: a failure records no outcome row.
    """

    run: Callable[[SqlHandle], Any]
    budget: float = DEFAULT_BUDGET
    then: Callable[[Any], Sequence[Operation]] = lambda _value: ()
    # Operations holding a lease, applied before the function: on a rerun after a lost
    # COMMIT the lease is stale and the unit stops there; no outcome row is needed.
    guard: Sequence[Operation] = ()
    # Fixed when the operation is built, so every rerun of its unit shares it.
    unit_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # One entry per run of the program: only a rerun can meet an outcome row.
    _runs: list[None] = field(default_factory=list, compare=False, repr=False)
    failed: Callable[[BaseException], Sequence[Operation]] | None = None

    def __post_init__(self) -> None:
        if self.failed is not None and not self.guard:
            raise ValueError("a RunTransaction with 'failed' needs a guard")

    @property
    def outcome_key(self) -> str:
        """The ``state`` key of this unit's outcome row."""
        return OUTCOME_PREFIX + self.unit_id

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """Unless the unit already committed, call the function, record its outcome, then
        apply the operations that follow from its value."""
        rerun = bool(self._runs)
        self._runs.append(None)
        if self.guard:
            yield from unit_ops.apply(dialect, list(self.guard), True)
        elif rerun:
            found = yield Stmt("state_get", {"key": self.outcome_key})
            if found:
                raise AlreadyCommitted(self.unit_id, json.loads(found[0][2]))
        rows = yield Call(self.run, self.budget, savepoint=self.failed is not None)
        value = rows[0][0]
        if isinstance(value, CallFailed) and self.failed is not None:
            yield from unit_ops.apply(dialect, list(self.failed(value.error)), True)
            return OpResult(values=[value])
        if not self.guard:
            yield Stmt("cas_insert", {"key": self.outcome_key, "value": json.dumps(value)})
        yield from unit_ops.apply(dialect, list(self.then(value)), True)
        return OpResult(values=[value])

    def is_stale(self, result: OpResult) -> bool:
        """Never stale itself (the operations after it report their own leases)."""
        return False


def prune_outcomes(before: float) -> Program[int]:
    """Delete the outcome rows last written before ``before`` (epoch seconds)."""
    rows = yield Stmt("txn_outcomes_prune", {"before": before})
    return int(rows[0][0]) if rows else 0
