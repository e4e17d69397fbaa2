"""Errors of state machines, their executions, tasks and transaction functions."""

from __future__ import annotations

from stormproof.errors.root import StormproofError


class ExecutionAlreadyExists(StormproofError):
    """An execution with this name exists (or existed) for the state machine."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"execution {name!r} already exists")


class StateMachineDoesNotExist(StormproofError, LookupError):
    """No state machine of that name is declared or stored."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"state machine {name!r} does not exist")


class ExecutionDoesNotExist(StormproofError, LookupError):
    """No execution with that ARN (or machine and name)."""

    def __init__(self, arn: str) -> None:
        self.arn = arn
        super().__init__(f"execution {arn!r} does not exist")


class TaskDoesNotExist(StormproofError, LookupError):
    """A task token names no task that is waiting for its outcome (AWS: TaskDoesNotExist)."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(f"no task is waiting for the token {token!r}")


class ExecutionNotRedrivable(StormproofError):
    """Only FAILED, TIMED_OUT and ABORTED executions can be redriven."""

    def __init__(self, arn: str, status: str) -> None:
        self.arn = arn
        self.status = status
        super().__init__(
            f"execution {arn!r} is {status}: only FAILED, TIMED_OUT and ABORTED executions redrive"
        )


class TransactionError(StormproofError):
    """A transaction function's failure that has an ASL error name (``error``, ``cause``)."""

    error = "Sql.Error"

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"{self.error}: {cause}")


class SqlError(TransactionError):
    """A statement of a transaction function failed (the transaction rolls back)."""


class TransactionTimeout(TransactionError):
    """A transaction function overran its time budget (``budget`` seconds); rolled back."""

    error = "States.Timeout"

    def __init__(self, budget: float) -> None:
        self.budget = budget
        super().__init__(f"the transaction ran past its budget of {budget:g} s")


class SqlConditionFailed(TransactionError):
    """``sql:execute`` touched ``rows`` rows where ``expected`` were declared (``ExpectRows``)."""

    error = "Sql.ConditionFailed"

    def __init__(self, statement: str, expected: int, rows: int) -> None:
        self.statement, self.expected, self.rows = statement, expected, rows
        super().__init__(f"statement {statement!r} affected {rows} rows, expected {expected}")
