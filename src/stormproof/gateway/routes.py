"""Route declarations: ``app.api.post(...)`` (storage-first) and ``app.api.get(...)``.

Everything is validated when declared, so a bad route fails at import, not at the first
request.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormproof.bus import Bus
from stormproof.core.token_bucket import BucketLimits
from stormproof.core.webhook_retry import DEFAULT_SCHEDULE
from stormproof.errors import InvalidAttribute
from stormproof.functions import Function
from stormproof.machines import StateMachine
from stormproof.queues import Queue

MAX_INTEGRATION_TIMEOUT = 29.0  # API Gateway's default maximum (configurable on the Api)
DEFAULT_MAX_BODY = 256 * 1024
DEFAULT_MAX_DEPTH = 32
_PATH_RE = re.compile(r"/[A-Za-z0-9._~\-/{}]*")
Validator = Callable[[Any], Any]
ADMIN_TOKEN_ENV = "STORMPROOF_ADMIN_TOKEN"


@dataclass(frozen=True)
class CorsPolicy:
    """A route's CORS answer: allowed ``origins`` (``"*"`` for any), request ``headers``,
    preflight ``max_age`` seconds. Off (None) unless a route declares ``cors=``."""

    origins: tuple[str, ...]
    headers: tuple[str, ...] = ("content-type", "idempotency-key", "x-api-key")
    max_age: int = 600

    def allows(self, origin: str | None) -> bool:
        """Whether a request from ``origin`` gets CORS headers."""
        return origin is not None and ("*" in self.origins or origin in self.origins)


def cors_of(cors: Mapping[str, Any] | None) -> CorsPolicy | None:
    """``dict(origins=[...], headers=[...], max_age=600)`` as a policy (validated)."""
    if cors is None:
        return None
    unknown = set(cors) - {"origins", "headers", "max_age"}
    origins = cors.get("origins")
    ok = isinstance(origins, list | tuple) and origins and all(isinstance(o, str) for o in origins)
    if unknown or not ok:
        raise InvalidAttribute("cors", dict(cors), "dict(origins=[...], headers=[...], max_age=s)")
    max_age = cors.get("max_age", 600)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= 86_400:
        raise InvalidAttribute("cors.max_age", max_age, "0 to 86,400 seconds")
    headers = tuple(h.lower() for h in cors.get("headers", CorsPolicy.headers))
    return CorsPolicy(tuple(origins or ()), headers, max_age)


@dataclass(frozen=True)
class PostRoute:
    """A storage-first route: the body is stored with its request record, then 202."""

    path: str
    target: Queue | Bus | Function | StateMachine
    idempotency: str | None = None
    idempotency_required: bool = False
    validator: Validator | None = None
    throttle: BucketLimits | None = None
    webhook: bool = False
    detail_type: str | None = None
    source: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_depth: int = DEFAULT_MAX_DEPTH
    api_key_required: bool = False
    schema: Mapping[str, Any] | None = None  # the JSON Schema, for /openapi.json
    cors: CorsPolicy | None = None

    @property
    def kind(self) -> str:
        """``queue``, ``bus``, ``function`` or ``machine``."""
        if isinstance(self.target, Queue):
            return "queue"
        if isinstance(self.target, Bus):
            return "bus"
        if isinstance(self.target, Function):
            return "function"
        return "machine"


@dataclass(frozen=True)
class GetRoute:
    """A synchronous route: ``handler(request)`` under an integration timeout."""

    path: str
    handler: Callable[..., Any]
    timeout: float
    throttle: BucketLimits | None = None
    api_key_required: bool = False
    cors: CorsPolicy | None = None
    concurrency: int | None = None  # the bulkhead: handlers running at once, per process


@dataclass
class ApiSettings:
    """Front-door settings shared by every route."""

    account_throttle: BucketLimits = field(default_factory=lambda: BucketLimits(10_000, 5_000))
    max_integration_timeout: float = MAX_INTEGRATION_TIMEOUT
    request_retention: float = 7 * 86_400.0
    idempotency_retention: float = 86_400.0
    webhook_secrets: list[str] = field(default_factory=list)
    callback_hosts: list[str] = field(default_factory=list)
    webhook_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    webhook_timeout: float = 15.0
    api_version: str = "1.0.0"  # info.version of /openapi.json
    admin_token: str | None = None  # or STORMPROOF_ADMIN_TOKEN; see stormproof.http.admin

    def configured_admin_token(self) -> str | None:
        """The admin token: this setting, else ``STORMPROOF_ADMIN_TOKEN``; None if neither."""
        return self.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None

    webhook_breaker: Any = None  # a CircuitBreaker: while open, deliveries wait in the queue


class Api:
    """The route registry of an app's front door (``app.api``)."""

    def __init__(self) -> None:
        self.posts: dict[str, PostRoute] = {}
        self.gets: dict[str, GetRoute] = {}
        self.settings = ApiSettings()

    def post(
        self,
        path: str,
        *,
        to: Queue | Bus | Function | StateMachine,
        idempotency: str | None = None,
        idempotency_required: bool = False,
        schema: str | Path | Mapping[str, Any] | None = None,
        throttle: Mapping[str, Any] | None = None,
        webhook: bool = False,
        detail_type: str | None = None,
        source: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        api_key_required: bool = False,
        cors: Mapping[str, Any] | None = None,
    ) -> PostRoute:
        """Declare a storage-first POST route whose body goes ``to`` a queue, a bus, a
        function (async invocation) or a state machine (an execution)."""
        _check_path(path, self.posts)
        if not isinstance(to, Queue | Bus | Function | StateMachine):
            raise InvalidAttribute("to", to, "a Queue, a Bus, a Function or a StateMachine")
        if isinstance(to, Bus) and not (detail_type and source):
            raise InvalidAttribute("detail_type", detail_type, "detail_type and source for a bus")
        if not isinstance(max_body, int) or not 1 <= max_body <= 10 * 1024 * 1024:
            raise InvalidAttribute("max_body", max_body, "1 to 10,485,760 bytes")
        route = PostRoute(
            path,
            to,
            idempotency,
            idempotency_required and idempotency is not None,
            compile_schema(schema),
            limits_of(throttle),
            webhook,
            detail_type,
            source,
            max_body,
            api_key_required=bool(api_key_required),
            schema=load_schema(schema),
            cors=cors_of(cors),
        )
        self.posts[path] = route
        return route

    def get(
        self,
        path: str,
        *,
        handler: Callable[..., Any],
        timeout: float = MAX_INTEGRATION_TIMEOUT,
        throttle: Mapping[str, Any] | None = None,
        api_key_required: bool = False,
        cors: Mapping[str, Any] | None = None,
        concurrency: int | None = None,
    ) -> GetRoute:
        """Declare a synchronous GET route; past ``timeout`` seconds the caller gets 504."""
        _check_path(path, self.gets)
        limit = self.settings.max_integration_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidAttribute("timeout", timeout, f"0.05 to {limit:g} seconds")
        if not 0.05 <= timeout <= limit:
            raise InvalidAttribute("timeout", timeout, f"0.05 to {limit:g} seconds")
        if not callable(handler):
            raise InvalidAttribute("handler", handler, "a callable(request)")
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise InvalidAttribute("concurrency", concurrency, "None or an integer >= 1")
        route = GetRoute(
            path,
            handler,
            float(timeout),
            limits_of(throttle),
            bool(api_key_required),
            cors_of(cors),
            concurrency,
        )
        self.gets[path] = route
        return route


def _check_path(path: str, taken: Mapping[str, Any]) -> None:
    if not isinstance(path, str) or not _PATH_RE.fullmatch(path) or path.startswith("/requests"):
        raise InvalidAttribute("path", path, "'/name/{param}...', not under /requests")
    if path in taken:
        raise InvalidAttribute("path", path, "a path not declared yet")


def limits_of(throttle: Mapping[str, Any] | None) -> BucketLimits | None:
    """``dict(rate=, burst=)`` as bucket limits (validated)."""
    if throttle is None:
        return None
    unknown = set(throttle) - {"rate", "burst"}
    if unknown or "rate" not in throttle:
        raise InvalidAttribute("throttle", dict(throttle), "dict(rate=<per second>, burst=<n>)")
    rate = throttle["rate"]
    return BucketLimits(rate, throttle.get("burst", max(1, int(rate))))


def load_schema(schema: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON Schema given as a file path or a mapping, as a dict."""
    if schema is None:
        return None
    if isinstance(schema, str | Path):
        try:
            return dict(json.loads(Path(schema).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidAttribute("schema", str(schema), f"a readable JSON file ({exc})") from exc
    return dict(schema)


def compile_schema(schema: str | Path | Mapping[str, Any] | None) -> Validator | None:
    """A JSON Schema (a file path or a mapping) compiled with fastjsonschema."""
    spec = load_schema(schema)
    if spec is None:
        return None
    try:
        import fastjsonschema
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InvalidAttribute("schema", schema, "pip install 'stormproof[server]'") from exc
    try:
        validator: Validator = fastjsonschema.compile(spec)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        raise InvalidAttribute("schema", spec, f"a valid JSON Schema ({exc})") from exc
    return validator
