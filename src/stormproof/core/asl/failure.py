"""The error raised inside the interpreter when a state fails.

A state fails either with a name and cause chosen by the definition (a Fail
state, a task error) or with one of the predefined ``States.*`` errors. The
interpreter decides whether a ``Retry``/``Catch`` may handle it.
"""

from __future__ import annotations

#: Errors that no retrier or catcher may handle (``States.ALL`` included).
UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})

RUNTIME = "States.Runtime"
QUERY_EVALUATION = "States.QueryEvaluationError"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
BRANCH_FAILED = "States.BranchFailed"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
TOLERATED_FAILURE = "States.ExceedToleratedFailureThreshold"
DATA_LIMIT = "States.DataLimitExceeded"


class StatesError(Exception):
    """A state failed with ``error`` and ``cause``.

    ``located`` is true when AWS prefixes the cause with "An error occurred
    while executing the state ..." (runtime and evaluation errors); the
    interpreter adds that prefix because only it knows the entered event id.
    """

    def __init__(self, error: str | None, cause: str | None, *, located: bool = False) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.located = located


def runtime_error(message: str) -> StatesError:
    """A ``States.Runtime`` failure whose cause gets the state prefix."""
    return StatesError(RUNTIME, message, located=True)


def evaluation_error(message: str) -> StatesError:
    """A JSONata ``States.QueryEvaluationError`` whose cause gets the state prefix."""
    return StatesError(QUERY_EVALUATION, message, located=True)
