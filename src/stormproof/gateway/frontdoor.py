"""The front door's decisions, without HTTP: accept a POST, answer a status, run a GET.

``accept`` validates, then commits the request's work, its request record and its
idempotency key in ONE unit of work, and only then returns the 202. Concurrent calls
each await their own unit; :mod:`stormproof.gateway.batcher` commits the units that
arrive together in one transaction of a few multi-row statements (group commit), so
nothing here serialises requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stormproof.core import trace_context
from stormproof.engine import tracing
from stormproof.errors import (
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    IntegrationTimeout,
    PayloadInvalid,
    RequestNotFound,
    StaleLease,
    TooManyRequests,
)
from stormproof.gateway import idempotency as idem
from stormproof.gateway.admission import Admission
from stormproof.gateway.batcher import UnitBatcher
from stormproof.gateway.payload import check_schema, parse_body
from stormproof.gateway.routes import Api, GetRoute, PostRoute
from stormproof.gateway.work import target_json, work_ops
from stormproof.storage.base import CompareAndSet, DeleteState, Operation, StateRecord
from stormproof.storage.request_ops import RequestRecord, UpdateRequest, key_of, new_request_id

if TYPE_CHECKING:
    from stormproof.gateway.host import GatewayHost


@dataclass(frozen=True)
class Answer:
    """An HTTP-agnostic response."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    # The body's JSON text (compact, not ASCII-escaped) when its producer wrote it: the
    # direct ASGI path sends it as is instead of encoding ``body`` again.
    text: str | None = field(default=None, compare=False)


def client_of(headers: Mapping[str, str]) -> str:
    """Who is calling: a hash of the ``x-api-key`` header, or ``anonymous``."""
    key = headers.get("x-api-key")
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else "anonymous"


class FrontDoor:
    """The runtime of ``app.api``: accepts requests on the app's store."""

    def __init__(self, app: GatewayHost, api: Api) -> None:
        self.app = app
        self.api = api
        self.admission = Admission(lambda: app.store, app.clock, api.settings.account_throttle)
        self._batcher = UnitBatcher(lambda: app.store)
        self._running: dict[str, int] = {}  # synchronous handlers running, per route
        self._background: set[asyncio.Task[None]] = set()
        self._paths: dict[str, str] = {}  # a route's path as JSON, for its records

    async def admit(self, route: PostRoute | GetRoute, headers: Mapping[str, str]) -> None:
        """Key, throttles and quota before any work (a refusal costs no store write)."""
        await self.admission.admit(route.path, route.throttle, route.api_key_required, headers)

    async def accept(self, route: PostRoute, raw: bytes, headers: Mapping[str, str]) -> Answer:
        """Store a POST's work and its request record together; answer 202."""
        with tracing.serving("POST", route.path, headers.get(trace_context.HEADER)):
            return await self._accept(route, raw, headers)

    async def _accept(self, route: PostRoute, raw: bytes, headers: Mapping[str, str]) -> Answer:
        client = client_of(headers)
        await self.admit(route, headers)
        payload = parse_body(route, raw)
        state_key = self._idempotency_key(route, client, headers)
        print_ = idem.fingerprint(payload) if state_key is not None else ""
        expired: StateRecord | None = None
        if state_key is not None:
            found = await self.app.store.get_state(state_key)
            replay = self._replay(found, print_)
            if replay is not None:
                return replay
            expired = found
        callback = self._callback(route, payload)
        check_schema(route, payload)
        return await self._store(route, payload, callback, (state_key, expired), print_)

    def _idempotency_key(
        self, route: PostRoute, client: str, headers: Mapping[str, str]
    ) -> str | None:
        if route.idempotency is None:
            return None
        key = headers.get(route.idempotency.lower())
        if key is None:
            if route.idempotency_required:
                raise IdempotencyKeyMissing(
                    f"this route requires the {route.idempotency} header", header=route.idempotency
                )
            return None
        if not 1 <= len(key) <= idem.MAX_KEY_LENGTH:
            raise PayloadInvalid(
                f"{route.idempotency} must have 1-{idem.MAX_KEY_LENGTH} characters",
                errors=[{"field": route.idempotency, "message": "bad length"}],
            )
        return idem.key_of(route.path, client, key)

    def _replay(self, record: StateRecord | None, print_: str) -> Answer | None:
        """The stored answer for a reused key, None if unused or expired; 422 if the body
        differs."""
        if record is None:
            return None
        stored = idem.StoredResponse.from_record(record)
        if stored.created + self.api.settings.idempotency_retention < self.app.clock.now():
            return None  # expired: _store replaces it
        if stored.fingerprint != print_:
            raise IdempotencyKeyReused(
                "this idempotency key was used with a different body",
                request_id=stored.body.get("request_id"),
            )
        return Answer(stored.status, stored.body, {**stored.headers, "idempotent-replayed": "true"})

    def _callback(self, route: PostRoute, payload: Any) -> str | None:
        if not (route.webhook and isinstance(payload, dict)) or "callback_url" not in payload:
            return None
        url = payload.pop("callback_url")
        parts = urlsplit(url) if isinstance(url, str) else None
        allowed = self.api.settings.callback_hosts
        if parts is None or parts.scheme not in ("http", "https") or parts.hostname not in allowed:
            raise PayloadInvalid(
                "callback_url must be an http(s) URL on an allowed host",
                errors=[{"field": "callback_url", "message": f"allowed hosts: {allowed}"}],
            )
        return str(url)

    async def _store(
        self,
        route: PostRoute,
        payload: Any,
        callback: str | None,
        key: tuple[str | None, StateRecord | None],
        print_: str,
    ) -> Answer:
        request_id = new_request_id()
        now = self.app.clock.now()
        target, ops = await work_ops(self.app, route, request_id, payload)
        value = RequestRecord.accepted_json(
            request_id,
            self._route_json(route.path),
            now,
            target_json(target),
            callback,
            trace_context.current_traceparent(),
        )
        status_url = f"/requests/{request_id}"
        answer = Answer(
            202,
            {"request_id": request_id, "status_url": status_url},
            {"location": status_url},
            # A request id is req_ and hex digits: nothing in it needs escaping.
            f'{{"request_id":"{request_id}","status_url":"{status_url}"}}',
        )
        unit: list[Operation] = [CompareAndSet(key_of(request_id), None, value), *ops]
        state_key, expired = key
        if state_key is not None:
            stored = idem.StoredResponse(print_, 202, answer.body, answer.headers, now)
            unit = [stored.insert_op(state_key), *unit]
            if expired is not None:
                unit.insert(0, DeleteState(state_key, expired.version))
        try:
            await self._commit(unit)
        except StaleLease:
            if state_key is None:
                raise
            # Another request with this key committed first: answer as it did.
            again = self._replay(await self.app.store.get_state(state_key), print_)
            if again is None:
                raise
            return again
        return answer

    def _route_json(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = json.dumps(path)
        return found

    async def _commit(self, unit: list[Operation]) -> None:
        """One atomic unit, committed with concurrent requests' and coalesced with them
        into a few multi-row statements (gateway.batcher): on both stores this is what
        makes durability cheap."""
        await self._batcher.apply(unit)

    async def status(self, request_id: str) -> Answer:
        """``GET /requests/{id}``."""
        found = await self.app.store.get_state(key_of(request_id))
        if found is None:
            raise RequestNotFound(f"no request {request_id!r}", request_id=request_id)
        return Answer(200, RequestRecord.from_json(found.value).answer())

    async def run_get(self, route: GetRoute, request: dict[str, Any]) -> Answer:
        """Run a synchronous handler; past its timeout answer 504 and record its outcome."""
        await self.admit(route, request.get("headers", {}))
        task = self._start(route, request)
        try:
            result = await asyncio.wait_for(asyncio.shield(task), route.timeout)
        except TimeoutError:
            request_id = await self._record_late(route, task)
            raise IntegrationTimeout(
                f"the handler did not answer within {route.timeout:g} s",
                request_id=request_id,
                status_url=f"/requests/{request_id}",
            ) from None
        if isinstance(result, Answer):
            return result
        return Answer(200, result)

    def _start(self, route: GetRoute, request: dict[str, Any]) -> asyncio.Future[Any]:
        """Start the handler within the route's bulkhead: a handler still running past
        its timeout keeps its place until it ends, so a slow route cannot take the
        server's capacity."""
        running = self._running.get(route.path, 0)
        if route.concurrency is not None and running >= route.concurrency:
            raise TooManyRequests(
                f"the route {route.path} already runs {running} handlers (its concurrency)",
                retry_after=1.0,
                limit="concurrency",
            )
        self._running[route.path] = running + 1
        task = asyncio.ensure_future(_call(route.handler, request))

        def done(_: asyncio.Future[Any]) -> None:
            self._running[route.path] -= 1

        task.add_done_callback(done)
        return task

    async def _record_late(self, route: GetRoute, task: asyncio.Future[Any]) -> str:
        request_id, now = new_request_id(), self.app.clock.now()
        record = RequestRecord(request_id, route.path, "running", now, now, {"kind": "sync"})
        record.trace = trace_context.current_traceparent()
        await self.app.store.apply([record.insert_op()])

        async def finish() -> None:
            try:
                result = await task
                op = UpdateRequest(request_id, "succeeded", self.app.clock.now(), result)
            except Exception as exc:  # the handler's failure is the request's outcome
                error = {"type": type(exc).__name__, "message": str(exc)}
                op = UpdateRequest(request_id, "failed", self.app.clock.now(), error=error)
            await self.app.store.apply([op])

        late = asyncio.ensure_future(finish())
        self._background.add(late)
        late.add_done_callback(self._background.discard)
        return request_id


async def _call(handler: Any, request: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(request)
    return await asyncio.to_thread(handler, request)
