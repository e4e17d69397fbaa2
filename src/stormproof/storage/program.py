"""Store operations as sans-IO programs, written once for every dialect.

A program is a generator that yields :class:`Stmt` (a named statement of the dialect's
``queries.sql`` and its parameters) and receives the rows it produced. The SQLite driver
runs programs synchronously inside its writer thread (no round trip per statement); the
PostgreSQL driver runs the same programs on an async connection. So the algorithms (DLQ
moves on receive, FIFO group selection, lease checks) exist once, and only SQL differs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

Row = tuple[Any, ...]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Stmt:
    """One statement: ``params`` is a mapping, or a list of mappings when ``many``.

    A statement with ``many`` (or one that returns no rows) produces ``[(rowcount,)]``.
    """

    name: str
    params: Params | Sequence[Params] = field(default_factory=dict)
    many: bool = False

    def single(self) -> Params:
        """The parameters of a one-row statement."""
        if not isinstance(self.params, Mapping):
            raise TypeError(f"{self.name}: expected one parameter mapping")
        return self.params

    def batch(self) -> list[Params]:
        """The parameter rows of a ``many`` statement."""
        if isinstance(self.params, Mapping):
            raise TypeError(f"{self.name}: expected a list of parameter mappings")
        return list(self.params)


@dataclass(frozen=True)
class Notify:
    """After commit, wake up to ``count`` receivers of a queue (``count`` messages became
    visible); a transaction notifies each queue at most once, with the counts summed."""

    queue: str
    count: int = 1


@dataclass(frozen=True)
class Dialect:
    """What a program may need to know about the store it runs on."""

    name: str

    @property
    def lateral(self) -> bool:
        """Whether one statement can fetch the head of several FIFO groups."""
        return self.name == "postgres"


@dataclass(frozen=True)
class Call:
    """Run ``run(db)`` inside the program's transaction, on its connection, within
    ``budget`` seconds; the program receives ``[(value,)]``. ``db`` is a
    :class:`~stormproof.storage.transaction_ops.SqlHandle` (see that module).

    With ``savepoint`` the call runs inside a SAVEPOINT of its own: if it raises (its own
    failure or its budget), only its writes roll back and the program receives
    ``[(CallFailed(exc),)]``, so the rest of the unit can still commit (a step records
    the failure as the task's outcome). A failure of the store itself still raises."""

    run: Callable[[Any], Any]
    budget: float
    savepoint: bool = False


@dataclass(frozen=True)
class CallFailed:
    """The value of a ``savepoint`` :class:`Call` whose function raised ``error``."""

    error: BaseException


Yield = Stmt | Notify | Call
T = TypeVar("T")
Program = Generator[Yield, list[Row], T]


class Steps:
    """One program stepped to its end, the same way by every backend: each :class:`Notify`
    is counted into ``notified`` (sent once the transaction commits) and answered with no
    rows here; each :class:`Stmt` or :class:`Call` is handed to the backend to run."""

    def __init__(self, prog: Program[Any], notified: dict[str, int]) -> None:
        self.prog = prog
        self.notified = notified
        self.value: Any = None

    def next(self, rows: list[Row] | None = None) -> Stmt | Call | None:
        """The next statement or call, given the rows of the last one (None to start);
        None once the program returned (its value is :attr:`value`)."""
        try:
            item = self.prog.send(rows)  # type: ignore[arg-type]  # None starts a generator
            while isinstance(item, Notify):
                self.notified[item.queue] = self.notified.get(item.queue, 0) + item.count
                item = self.prog.send([])
        except StopIteration as stop:
            self.value = stop.value
            return None
        return item
