"""Errors for a value, parameter or document outside what is accepted."""

from __future__ import annotations

from typing import Any

from stormproof.errors.root import StormproofError, safe_repr


class InvalidAttribute(StormproofError, ValueError):
    """A value is outside its documented range or of the wrong kind.

    ``field`` is the Python keyword name, ``value`` the offending value and
    ``allowed`` a human-readable description of what is accepted.
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {field}={safe_repr(value)}: allowed {allowed}")


class ValidationError(InvalidAttribute):
    """A declared document (a chaos fault, an experiment file) has a field out of range."""


class NestingTooDeep(InvalidAttribute):
    """A JSON document nests arrays and objects deeper than ``limit`` levels.

    ``value`` is a description, not the document (whose repr would recurse as deep).
    """

    def __init__(self, field: str, limit: int) -> None:
        self.limit = limit
        super().__init__(
            field,
            f"<a document nested more than {limit} levels>",
            f"at most {limit} levels of nested arrays and objects",
        )


class MissingParameter(StormproofError, ValueError):
    """A required parameter was not given (e.g. a FIFO send without ``group_id``)."""

    def __init__(self, field: str, message: str | None = None) -> None:
        self.field = field
        super().__init__(message or f"missing required parameter {field}")


class InvalidPattern(StormproofError, ValueError):
    """An event pattern is not valid; the message reads like AWS's."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Event pattern is not valid. Reason: {reason}")


class InvalidEvent(StormproofError, ValueError):
    """An event is not valid JSON or lacks the envelope fields required."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidDefinition(StormproofError, ValueError):
    """A state-machine definition has problems; ``problems`` lists ``(json_path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{path}: {msg}" for path, msg in problems)
        super().__init__(f"invalid state machine definition: {lines}")


class InvalidHandler(InvalidAttribute, TypeError):
    """A handler of the wrong kind for its option (``field``), e.g. ``async def`` with
    ``isolation='process'``."""
