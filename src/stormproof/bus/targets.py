"""Targets of event-bus rules: where matched events go, how they are shaped and retried.

A :class:`Target` wraps a destination: a :class:`~stormproof.queues.Queue`, a function
(async invocation), another bus, an :class:`HttpTarget` (``app.http_target(...)``) or a
state machine (any object with an async ``start_execution(input)``). Its settings are
validated when it is defined (``InvalidAttribute`` names the field).

A target also has a *spec*: plain JSON stored in the bus catalog, so a process without
the app's code (the CLI) can still publish to it; such a process sees destinations as
:class:`DestinationRef` (kind and name only).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from stormproof.clock import Clock
from stormproof.core import names
from stormproof.core import queue_rules as rules
from stormproof.core.numbers import whole_number
from stormproof.core.retry import RetryPolicy
from stormproof.core.transform import InputTransformer, TargetInput
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.limits import Limit
from stormproof.errors import InvalidAttribute
from stormproof.queues.queue import Queue

TARGET_ID_RE = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
HTTP_METHODS = ("POST", "PUT", "PATCH", "DELETE", "GET")
MAX_RATE = 300  # AWS's InvocationRateLimitPerSecond range is 1-300
MAX_HTTP_TIMEOUT = 60.0
_ID_UNSAFE = re.compile(r"[^.\-_A-Za-z0-9]")
_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
SIGNATURE_HEADER = "X-Stormproof-Signature"


def queue_arn(name: str) -> str:
    """The stormproof resource identifier of a queue."""
    return f"stormproof:queue:{name}"


def rule_arn(bus: str, rule: str) -> str:
    """The stormproof resource identifier of a rule (AWS: ``arn:...:rule/<bus>/<rule>``)."""
    return f"stormproof:events:rule/{bus}/{rule}"


def bus_arn(bus: str) -> str:
    """The stormproof resource identifier of an event bus."""
    return f"stormproof:events:event-bus/{bus}"


# --- HTTP endpoints -----------------------------------------------------------------


@dataclass(frozen=True)
class HeaderAuth:
    """Authenticate with a fixed header, e.g. ``HeaderAuth("Authorization", "Bearer ...")``."""

    name: str
    value: str


@dataclass(frozen=True)
class HmacAuth:
    """Sign each request: ``<header>: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""

    secret: str
    header: str = SIGNATURE_HEADER

    def sign(self, body: bytes, now: float) -> str:
        """The signature header's value for ``body`` sent at ``now``."""
        stamp = str(int(now))
        mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        return f"t={stamp},v1={mac.hexdigest()}"


class RateLimiter:
    """A token bucket of ``rate`` requests per second (burst ``rate``), in this process.

    It starts full and is paced by the caller's (the runtime's) clock, so a fake clock
    drives it in tests; a clock stepping back refills nothing rather than draining.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._tokens = float(rate)
        self._stamp: float | None = None
        self._lock = asyncio.Lock()

    async def acquire(self, clock: Clock) -> None:
        """Wait (on ``clock``) for one token."""
        async with self._lock:
            while True:
                now = clock.now()
                if self._stamp is not None:
                    refill = max(0.0, now - self._stamp) * self.rate
                    self._tokens = min(self.rate, self._tokens + refill)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await clock.sleep((1 - self._tokens) / self.rate)


class HttpTarget:
    """An HTTP endpoint events are delivered to (AWS's API destination), made by
    ``app.http_target(url, method="POST", headers=None, auth=None, rate=None, timeout=5)``.

    2xx is success; 429 and 5xx (and no answer within ``timeout``) are retried; other
    answers are not. ``auth`` is a :class:`HeaderAuth` (or a ``(name, value)`` pair) or an
    :class:`HmacAuth`; ``rate`` caps requests per second (1-300) in each process;
    ``breaker`` (``app.breaker(...)``): while it is open, deliveries wait in the bus's
    delivery queue until its ``retry_at``, and the wait counts as no attempt.
    """

    is_stormproof_http_target = True

    def __init__(
        self,
        url: str,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        auth: HeaderAuth | HmacAuth | tuple[str, str] | None = None,
        rate: int | None = None,
        timeout: float = 5.0,
        name: str | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.url = _check_url(url)
        if breaker is not None and not isinstance(breaker, CircuitBreaker):
            raise InvalidAttribute("breaker", breaker, "None or a breaker made by app.breaker")
        self.breaker = breaker  # while open, deliveries wait in their queue
        if method not in HTTP_METHODS:
            raise InvalidAttribute("method", method, f"one of {', '.join(HTTP_METHODS)}")
        self.method = method
        self.headers = _check_headers(headers)
        self.auth = _check_auth(auth)
        if rate is not None:
            whole_number(
                "rate", rate, 1, MAX_RATE, allowed=f"None or a whole number from 1 to {MAX_RATE}"
            )
        self.rate = rate
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidAttribute("timeout", timeout, f"0.1 to {MAX_HTTP_TIMEOUT:g} seconds")
        if not 0.1 <= timeout <= MAX_HTTP_TIMEOUT:
            raise InvalidAttribute("timeout", timeout, f"0.1 to {MAX_HTTP_TIMEOUT:g} seconds")
        self.timeout = float(timeout)
        self.name = name or self.url
        self.limiter = RateLimiter(rate) if rate else None  # per process, without an app
        self.limit: Limit | None = None  # the global limit app.http_target makes of ``rate``

    def __repr__(self) -> str:
        return f"HttpTarget({self.method} {self.url!r})"

    @property
    def arn(self) -> str:
        """The stormproof resource identifier (AWS: the API destination's ARN)."""
        return f"stormproof:http:{self.name}"

    def request_headers(self, body: bytes, event_id: str, now: float) -> dict[str, str]:
        """Headers of one delivery: content type, the event id, configured ones, auth."""
        out = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "stormproof-events",
            "X-Stormproof-Event-Id": event_id,
            **self.headers,
        }
        if isinstance(self.auth, HeaderAuth):
            out[self.auth.name] = self.auth.value
        elif isinstance(self.auth, HmacAuth):
            out[self.auth.header] = self.auth.sign(body, now)
        return out


def _check_url(url: Any) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidAttribute("url", url, "an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidAttribute("url", url, "a port from 1 to 65535") from None
    if any(c in url for c in "\r\n "):
        raise InvalidAttribute("url", url, "a URL without spaces or line breaks")
    return str(url)


def _check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidAttribute("headers", headers, "a mapping of header names to strings")
    for key, value in headers.items():
        _check_header("headers", key, value)
    return dict(headers)


def _check_header(field: str, key: Any, value: Any) -> None:
    if not names.is_name(_TOKEN_RE, key):
        raise InvalidAttribute(field, key, "header names made of HTTP token characters")
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise InvalidAttribute(field, value, "header values as strings without line breaks")


def _check_auth(auth: Any) -> HeaderAuth | HmacAuth | None:
    if auth is None:
        return None
    if isinstance(auth, tuple) and len(auth) == 2:
        auth = HeaderAuth(*auth)
    if isinstance(auth, HeaderAuth):
        _check_header("auth", auth.name, auth.value)
        return auth
    if isinstance(auth, HmacAuth):
        if not isinstance(auth.secret, str) or not auth.secret:
            raise InvalidAttribute("auth", "<secret>", "a non-empty HMAC secret")
        _check_header("auth", auth.header, "x")
        return auth
    raise InvalidAttribute("auth", auth, "None, HeaderAuth(name, value), (name, value) or HmacAuth")


# --- targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationRef:
    """A destination known only by kind and name (a bus loaded from the store)."""

    kind: str
    name: str
    arn: str


def classify(destination: Any) -> tuple[str, str, str]:
    """``(kind, name, arn)`` of a destination; ``InvalidAttribute`` for anything else."""
    if isinstance(destination, DestinationRef):
        return destination.kind, destination.name, destination.arn
    if isinstance(destination, Queue):
        if destination.fifo:
            raise InvalidAttribute("destination", destination.name, "a standard queue")
        return "queue", destination.name, queue_arn(destination.name)
    if getattr(destination, "is_stormproof_function", False):
        return "function", destination.name, destination.arn
    if getattr(destination, "is_stormproof_bus", False):
        return "bus", destination.name, bus_arn(destination.name)
    if isinstance(destination, HttpTarget):
        return "http", destination.name, destination.arn
    if is_state_machine(destination):
        name = str(getattr(destination, "name", type(destination).__name__))
        return "state_machine", name, str(getattr(destination, "arn", f"stormproof:states:{name}"))
    raise InvalidAttribute(
        "destination",
        destination,
        "a Queue, a Function, a Bus, an HttpTarget or a state machine (start_execution)",
    )


def is_state_machine(destination: Any) -> bool:
    """A state-machine hook: an async ``start_execution(input[, name=])``, or a stormproof
    ``StateMachine`` (an async ``start(input, name=)`` beside a ``definition``)."""
    if callable(getattr(destination, "start_execution", None)):
        return True
    return callable(getattr(destination, "start", None)) and hasattr(destination, "definition")


async def start_machine(destination: Any, value: Any, name: str) -> None:
    """Start an execution; ``name`` (stable across retries) makes a repeated start
    idempotent where the hook accepts it."""
    hook = getattr(destination, "start_execution", None) or destination.start
    if "name" in inspect.signature(hook).parameters:
        await hook(value, name=name)
    else:
        await hook(value)


class Target:
    """One target of a rule (see the module docstring).

    ``max_retry_attempts`` 0-185 (default 185) and ``max_event_age`` 60-86,400 s (default
    24 h) bound delivery retries; ``dead_letter`` is a standard queue that receives what
    could not be *delivered* (not what the target failed to process after accepting it).
    ``id`` (1-64 of ``A-Za-z0-9._-``) defaults to a name derived from the destination.
    """

    def __init__(
        self,
        destination: Any,
        input: str | None = None,
        input_path: str | None = None,
        input_transformer: InputTransformer | Mapping[str, Any] | None = None,
        max_retry_attempts: int = 185,
        max_event_age: float | timedelta = 86400,
        dead_letter: Queue | str | None = None,
        *,
        id: str | None = None,
    ) -> None:
        self.destination = destination
        self.kind, self.name, self.arn = classify(destination)
        shaped = input is not None or input_path is not None or input_transformer is not None
        if self.kind == "bus" and shaped:
            raise InvalidAttribute(
                "input",
                input or input_path or input_transformer,
                "nothing: a bus target receives the event as it is",
            )
        self.shaping = TargetInput.build(input, input_path, input_transformer)
        self.input, self.input_path = input, input_path
        if isinstance(input_transformer, InputTransformer):
            input_transformer = {
                "InputTemplate": input_transformer.input_template,
                "InputPathsMap": dict(input_transformer.input_paths_map or {}),
            }
        self.input_transformer = dict(input_transformer) if input_transformer else None
        self.policy = RetryPolicy(max_retry_attempts, _whole_seconds(max_event_age))
        self.dead_letter = _dead_letter(dead_letter)
        if id is not None and not names.is_name(TARGET_ID_RE, id):
            raise InvalidAttribute("id", id, "1 to 64 characters from A-Z a-z 0-9 . _ -")
        self.id = id or f"{self.kind}-{_ID_UNSAFE.sub('_', self.name)}"[:64]

    def __repr__(self) -> str:
        return f"Target({self.kind}:{self.name!r}, id={self.id!r})"

    def render(
        self, event: Mapping[str, Any], *, rule_arn: str, rule_name: str, ingestion_time: datetime
    ) -> str | None:
        """The payload delivered for ``event`` (None: nothing is delivered)."""
        return self.shaping.render(
            event, rule_arn=rule_arn, rule_name=rule_name, ingestion_time=ingestion_time
        )

    def to_spec(self) -> dict[str, Any]:
        """Plain JSON describing this target (stored in the bus catalog)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "arn": self.arn,
            "input": self.input,
            "input_path": self.input_path,
            "input_transformer": self.input_transformer,
            "max_retry_attempts": self.policy.max_retry_attempts,
            "max_event_age": self.policy.max_event_age,
            "dead_letter": self.dead_letter,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Target:
        """A target rebuilt from its spec, its destination a :class:`DestinationRef`."""
        ref = DestinationRef(spec["kind"], spec["name"], spec["arn"])
        return cls(
            ref,
            input=spec.get("input"),
            input_path=spec.get("input_path"),
            input_transformer=spec.get("input_transformer"),
            max_retry_attempts=spec["max_retry_attempts"],
            max_event_age=spec["max_event_age"],
            dead_letter=spec.get("dead_letter"),
            id=spec["id"],
        )


def _whole_seconds(value: Any) -> int:
    raw = rules.seconds("max_event_age", value)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
        raise InvalidAttribute("max_event_age", value, "whole seconds from 60 to 86400")
    return int(raw)


def _dead_letter(dead_letter: Any) -> str | None:
    if dead_letter is None:
        return None
    if isinstance(dead_letter, Queue):
        fifo, name = dead_letter.fifo, dead_letter.name
    elif isinstance(dead_letter, str):
        fifo, name = rules.validate_queue_name(dead_letter, None), dead_letter
    else:
        raise InvalidAttribute("dead_letter", dead_letter, "None, a Queue or a queue name")
    if fifo:
        raise InvalidAttribute("dead_letter", name, "a standard queue (AWS: no FIFO DLQs)")
    return name
