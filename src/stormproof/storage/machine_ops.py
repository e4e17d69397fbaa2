"""State machine storage: machines, executions and their history, as programs and operations.

An execution is one row of ``sfn_executions`` holding the interpreter's state (JSON, without
the definition, which has a column of its own), the runtime's bookkeeping and a version
for compare-and-set. Its history is one row per event in ``sfn_history``.

:class:`InsertExecution` and :class:`SaveExecution` are custom unit-of-work operations: the
step consumer commits a step as ``[SaveExecution, Delete(step message), Enqueue(next step
messages)...]`` in one transaction, so history events and the next step's message commit
together (DESIGN.md §1). Both report themselves stale when the row is not as expected
(a name already taken; a version moved on), which rolls the whole unit back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stormproof.storage.base import EntryStatus, OpResult
from stormproof.storage.program import Dialect, Program, Row, Stmt


@dataclass(frozen=True)
class MachineRow:
    """A stored state machine."""

    name: str
    definition: str
    type: str
    role_arn: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ExecutionRow:
    """A stored execution (``state``/``runtime``/``definition`` are JSON text; empty in lists)."""

    id: str
    machine: str
    name: str
    status: str
    input: str
    output: str | None
    error: str | None
    cause: str | None
    definition: str
    start_time: float
    stop_time: float | None
    state: str
    runtime: str
    version: int
    redrive_count: int
    parent: str | None
    #: The Map Run a distributed Map's child execution belongs to.
    map_run: str | None = None


def _execution(row: Row) -> ExecutionRow:
    return ExecutionRow(
        id=row[0],
        machine=row[1],
        name=row[2],
        status=row[3],
        input=row[4],
        output=row[5],
        error=row[6],
        cause=row[7],
        definition=row[8],
        start_time=float(row[9]),
        stop_time=None if row[10] is None else float(row[10]),
        state=row[11],
        runtime=row[12],
        version=int(row[13]),
        redrive_count=int(row[14]),
        parent=row[15],
        map_run=row[16],
    )


def _machine(row: Row) -> MachineRow:
    return MachineRow(row[0], row[1], row[2], row[3], float(row[4]), float(row[5]))


# --- unit-of-work operations ---------------------------------------------------------


@dataclass(frozen=True)
class InsertExecution:
    """Create an execution row; stale when the machine already has one of that name."""

    id: str
    machine: str
    name: str
    input: str
    definition: str
    start_time: float
    state: str
    runtime: str
    parent: str | None = None
    map_run: str | None = None

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """INSERT ... ON CONFLICT DO NOTHING."""
        rows = yield Stmt("sfn_execution_insert", self.params())
        return self.judge(rows)

    def judge(self, rows: list[Row]) -> OpResult:
        """The result of the INSERT that returned ``rows`` (none: the name is taken)."""
        if not rows:
            return OpResult([EntryStatus.STALE])
        return OpResult([EntryStatus.OK], [1])

    def params(self) -> dict[str, Any]:
        """The parameters of ``sfn_execution_insert``."""
        return {
            "id": self.id,
            "machine": self.machine,
            "name": self.name,
            "input": self.input,
            "definition": self.definition,
            "start_time": self.start_time,
            "state": self.state,
            "runtime": self.runtime,
            "parent": self.parent,
            "map_run": self.map_run,
        }

    def is_stale(self, result: OpResult) -> bool:
        """A taken name rolls the unit back."""
        return not result.ok


@dataclass(frozen=True)
class InsertChildren:
    """Create the child executions of a Map Run in one batched statement.

    ``rows`` hold the parameters of ``sfn_execution_insert_child`` (the fields of
    :class:`InsertExecution`). A name already taken is skipped, not stale: a child's name
    derives from its parent's, so it can only be that same child.
    """

    rows: Sequence[dict[str, Any]]

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """One INSERT ... ON CONFLICT DO NOTHING, executed for every row."""
        if self.rows:
            yield Stmt("sfn_execution_insert_child", list(self.rows), many=True)
        return OpResult([EntryStatus.OK])

    def is_stale(self, result: OpResult) -> bool:
        """Never stale."""
        return False


@dataclass(frozen=True)
class SaveExecution:
    """Compare-and-set an execution at ``expected`` version and append history events."""

    id: str
    expected: int
    status: str
    state: str
    runtime: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_time: float | None = None
    redrive_count: int = 0
    events: Sequence[dict[str, Any]] = field(default_factory=tuple)
    #: A new parent link (JSON text); None keeps the stored one.
    parent: str | None = None

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """UPDATE ... WHERE version = expected, then the INSERT of the step's events; on
        PostgreSQL one statement does both (a round trip saved per step)."""
        params = self.params()
        if dialect.name == "postgres":
            rows = yield Stmt("sfn_execution_save", self.save_params())
            return self.judge(rows)
        rows = yield Stmt("sfn_execution_update", params)
        if not rows:
            return OpResult([EntryStatus.STALE])
        if self.events:
            yield Stmt("sfn_history_insert", history_rows(self.id, self.events)[0])
        return self.judge(rows)

    def judge(self, rows: list[Row]) -> OpResult:
        """The result of the UPDATE that returned ``rows`` (none: the version moved on)."""
        if not rows:
            return OpResult([EntryStatus.STALE])
        return OpResult([EntryStatus.OK], [int(rows[0][0])])

    def save_params(self) -> dict[str, Any]:
        """The parameters of ``sfn_execution_save`` (PostgreSQL): the update's and the
        history row's (None when the step logged no event)."""
        if not self.events:
            return {**self.params(), "event_id": None, "body": None}
        row = history_rows(self.id, self.events)[0]
        return {**self.params(), "event_id": row["event_id"], "body": row["body"]}

    def params(self) -> dict[str, Any]:
        """The parameters of ``sfn_execution_update``."""
        return {
            "id": self.id,
            "expected": self.expected,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "stop_time": self.stop_time,
            "state": self.state,
            "runtime": self.runtime,
            "redrive_count": self.redrive_count,
            "parent": self.parent,
        }

    def is_stale(self, result: OpResult) -> bool:
        """A version that moved on rolls the unit back."""
        return not result.ok


def history_rows(execution: str, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameter rows for ``sfn_history_insert``: the events of one step in one row, keyed
    by the id of its first event (one insert per step, however many states it ran)."""
    body = json.dumps(list(events), separators=(",", ":"), ensure_ascii=False)
    return [{"execution": execution, "event_id": int(events[0]["id"]), "body": body}]


# --- programs ---------------------------------------------------------------------------


def put_machine(name: str, definition: str, type_: str, role_arn: str) -> Program[None]:
    """Create or replace a machine row."""
    params = {"name": name, "definition": definition, "type": type_, "role_arn": role_arn}
    yield Stmt("sfn_machine_put", params)


def get_machine(name: str) -> Program[MachineRow | None]:
    """One machine, or None."""
    rows = yield Stmt("sfn_machine_get", {"name": name})
    return _machine(rows[0]) if rows else None


def list_machines() -> Program[list[MachineRow]]:
    """Every machine, by name."""
    rows = yield Stmt("sfn_machine_list")
    return [_machine(r) for r in rows]


def load_executions(ids: Sequence[str]) -> Program[dict[str, ExecutionRow]]:
    """Executions by id (missing ids are absent from the result)."""
    if not ids:
        return {}
    rows = yield Stmt("sfn_executions_load", {"ids": list(ids)})
    return {r[0]: _execution(r) for r in rows}


def execution_by_name(machine: str, name: str) -> Program[ExecutionRow | None]:
    """The execution of ``machine`` called ``name``, or None."""
    rows = yield Stmt("sfn_execution_by_name", {"machine": machine, "name": name})
    return _execution(rows[0]) if rows else None


def list_executions(
    machine: str | None, status: str | None, limit: int, map_run: str | None = None
) -> Program[list[ExecutionRow]]:
    """Newest first; ``state``, ``runtime`` and ``definition`` are left empty."""
    params = {"machine": machine, "status": status, "n": limit, "map_run": map_run}
    rows = yield Stmt("sfn_execution_list", params)
    return [_execution(r) for r in rows]


def history_page(
    execution: str, after: int, limit: int
) -> Program[tuple[int | None, list[dict[str, Any]]]]:
    """Events of up to ``limit`` steps whose first event id is above ``after``, in order,
    and the first event id of the last step read (None when there was none)."""
    rows = yield Stmt("sfn_history_page", {"execution": execution, "after": after, "n": limit})
    events: list[dict[str, Any]] = []
    for row in rows:
        events.extend(json.loads(row[1]))
    return (int(rows[-1][0]) if rows else None), events


def map_run_children(execution: str) -> Program[list[str]]:
    """The ids of the child executions of every Map Run of ``execution``."""
    # Map Run ARNs start with "<execution ARN>:map-run/" ("0" sorts right after "/").
    params = {"low": f"{execution}:map-run/", "high": f"{execution}:map-run0"}
    rows = yield Stmt("sfn_execution_children", params)
    return [str(r[0]) for r in rows]


def delete_execution(execution: str) -> Program[None]:
    """Forget an execution and its history (test harnesses reuse names)."""
    yield Stmt("sfn_history_delete", {"id": execution})
    yield Stmt("sfn_execution_delete", {"id": execution})


def status_counts() -> Program[dict[str, int]]:
    """How many executions have each status."""
    rows = yield Stmt("sfn_execution_counts")
    return {str(r[0]): int(r[1]) for r in rows}
