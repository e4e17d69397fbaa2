"""What the preflight lint rules read: pure specs of an app's definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class QueueSpec:
    """What the rules need of a queue."""

    name: str
    visibility_timeout: float
    retention: float
    dead_letter: str | None
    max_receive_count: int


@dataclass(frozen=True)
class FunctionSpec:
    """What the rules need of a function (``on_failure``: the destination's name;
    ``concurrency``: reserved concurrency; the async-invocation retry policy)."""

    name: str
    timeout: float
    on_failure: str | None
    concurrency: int | None = None
    max_retry_attempts: int = 2
    max_event_age: float = 21_600


@dataclass(frozen=True)
class MappingSpec:
    """A queue consumed by a function."""

    queue: str
    function: str
    batch_window: float
    max_concurrency: int | None = None
    breaker: str | None = None
    limit: str | None = None


@dataclass(frozen=True)
class TargetSpec:
    """A bus rule's target: where it delivers (``kind``/``name``) and its retry policy."""

    bus: str
    rule: str
    kind: str
    name: str
    max_retry_attempts: int = 185
    max_event_age: float = 86_400


@dataclass(frozen=True)
class RouteSpec:
    """A synchronous front-door route and the function it waits for (if one)."""

    method: str
    path: str
    timeout: float
    function: str | None


@dataclass(frozen=True)
class StreamMappingSpec:
    """A stream consumed by a function (-1: no limit)."""

    stream: str
    function: str
    max_retry_attempts: int
    max_record_age: float


@dataclass(frozen=True)
class TransactionSpec:
    """A transaction function, whether its handler is a coroutine (once unwrapped), and
    the modules its handler's module imports (dotted names, as written)."""

    name: str
    is_async: bool
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppSpec:
    """An app's definitions, and the silenced findings: ``{object: {code: reason}}``."""

    queues: Mapping[str, QueueSpec]
    functions: Mapping[str, FunctionSpec]
    mappings: tuple[MappingSpec, ...]
    silenced: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    targets: tuple[TargetSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    machines: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ASL definitions
    stream_mappings: tuple[StreamMappingSpec, ...] = ()
    transactions: tuple[TransactionSpec, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem: its code, severity, the object, what is wrong (with numbers), the fix."""

    code: str
    severity: str
    object: str
    message: str
    fix: str
