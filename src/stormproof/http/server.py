"""The front door as a Starlette application, and serving it with uvicorn.

``build(app)`` turns ``app.api``'s routes into endpoints, adds ``GET /requests/{id}``
and ``GET /requests/{id}/events`` (Server-Sent Events), and maps every error to problem
details. Its lifespan opens the app (store, migrations), declares the webhook queues and
runs the webhook dispatcher when secrets are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from stormproof.engine import injection
from stormproof.errors import PayloadTooLarge, StormproofError
from stormproof.gateway.frontdoor import Answer, FrontDoor
from stormproof.gateway.openapi import document
from stormproof.gateway.routes import Api, CorsPolicy, GetRoute, PostRoute
from stormproof.gateway.webhooks import WebhookDispatcher, declare_queues
from stormproof.http import dashboard
from stormproof.http.admin import admin_token
from stormproof.http.admin import routes as admin_routes
from stormproof.http.cors import decorate, preflight
from stormproof.http.direct import FrontDoorApp, direct_posts
from stormproof.http.events import request_events
from stormproof.http.problems import from_exception, problem
from stormproof.http.push import request_push

if TYPE_CHECKING:
    from stormproof.app import App

Endpoint = Callable[[Request], Awaitable[Response]]
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _respond(answer: Answer) -> Response:
    return JSONResponse(answer.body, answer.status, headers=answer.headers)


def _guarded(handle: Callable[[Request], Awaitable[Response]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            return await handle(request)
        except Exception as exc:  # every error becomes problem+json, never a traceback
            return from_exception(exc)

    return endpoint


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the body has {declared} bytes; at most {limit} are accepted",
            size=int(declared),
            limit=limit,
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body passes {limit} bytes", size=size, limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _post(door: FrontDoor, route: PostRoute) -> Endpoint:
    async def handle(request: Request) -> Response:
        if injection.injector is not None:  # a chaos fault answers for the route
            await injection.injector.strike(f"route:POST {route.path}")
        raw = await read_body(request, route.max_body)
        return _respond(await door.accept(route, raw, request.headers))

    return _with_cors(route.cors, _guarded(handle))


def _get(door: FrontDoor, route: GetRoute) -> Endpoint:
    async def handle(request: Request) -> Response:
        if injection.injector is not None:  # a chaos fault answers for the route
            await injection.injector.strike(f"route:GET {route.path}")
        data = {
            "path": request.url.path,
            "path_params": dict(request.path_params),
            "query": dict(request.query_params),
            "headers": dict(request.headers),
        }
        return _respond(await door.run_get(route, data))

    return _with_cors(route.cors, _guarded(handle))


def _with_cors(policy: CorsPolicy | None, endpoint: Endpoint) -> Endpoint:
    if policy is None:
        return endpoint

    async def with_headers(request: Request) -> Response:
        return decorate(policy, request, await endpoint(request))

    return with_headers


def _preflights(routes: list[tuple[str, str, CorsPolicy | None]]) -> list[Route]:
    """An OPTIONS route per path whose route declares CORS."""

    def answer(policy: CorsPolicy, method: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return preflight(policy, method, request)

        return endpoint

    return [
        Route(path, answer(policy, method), methods=["OPTIONS"])
        for path, method, policy in routes
        if policy is not None
    ]


def health_routes(app: App) -> list[Route]:
    """``/healthz`` (alive), ``/readyz`` (store reachable; migrations ran when it opened)
    and ``/metrics`` (Prometheus; 501 without the ``stormproof[telemetry]`` extra)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        try:
            await asyncio.wait_for(app.store.now(), timeout=2.0)
        except Exception as exc:  # not open, unreachable or slow: not ready
            return JSONResponse({"status": "not ready", "error": str(exc)}, 503)
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        try:
            body = await app.metrics_exposition()
        except StormproofError as exc:
            return JSONResponse({"error": str(exc)}, 501)
        return Response(body, headers={"content-type": METRICS_CONTENT_TYPE})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def build(app: App, *, webhooks: bool = True) -> Starlette:
    """The ASGI application serving ``app.api``; storage-first routes' POSTs skip
    Starlette's routing (:mod:`stormproof.http.direct`)."""
    api = app.api
    door = FrontDoor(app, api)
    routes = _api_routes(door, api) + _request_routes(door) + health_routes(app)
    spec = document(api, app.name, api.settings.api_version)

    async def openapi(_: Request) -> Response:
        return JSONResponse(spec)

    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    token = admin_token(app)
    if token is not None:
        routes += admin_routes(app, token)
    dashboard.mount(routes, app)
    return FrontDoorApp(
        direct_posts(door, api.posts),
        routes=routes,
        lifespan=_lifespan(app, webhooks),
        exception_handlers={HTTPException: _unrouted},
    )


def _api_routes(door: FrontDoor, api: Api) -> list[BaseRoute]:
    """The declared POST and GET routes, then their CORS preflights."""
    routes: list[BaseRoute] = [
        Route(p, _post(door, r), methods=["POST"]) for p, r in api.posts.items()
    ]
    routes += [Route(p, _get(door, r), methods=["GET"]) for p, r in api.gets.items()]
    routes += _preflights(
        [(p, "POST", r.cors) for p, r in api.posts.items()]
        + [(p, "GET", r.cors) for p, r in api.gets.items()]
    )
    return routes


def _request_routes(door: FrontDoor) -> list[BaseRoute]:
    """A request's status, its event stream and the WebSocket that pushes outcomes."""

    async def status(request: Request) -> Response:
        return _respond(await door.status(request.path_params["id"]))

    async def events(request: Request) -> Response:
        return await request_events(door, request)

    async def push(socket: WebSocket) -> None:
        await request_push(door, socket)

    return [
        Route("/requests/{id}", _guarded(status), methods=["GET"]),
        Route("/requests/{id}/events", _guarded(events), methods=["GET"]),
        WebSocketRoute("/requests/ws", push),
    ]


GIL_SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005


def share_the_gil(app: App) -> None:
    """On SQLite, shorten the interpreter's thread switch interval for this process.

    The store's writer thread releases the GIL for each SQLite call and must take it back
    after; while the event loop runs Python (parsing the next requests) that takes up to
    the switch interval, 5 ms by default, per statement, and every request waiting for
    that commit waits with it. With 0.5 ms the storage-first route served 10-30 % more
    requests a second in the front-door benchmark (docs/performance.md).
    """
    if getattr(getattr(app.store, "dialect", None), "name", None) == "sqlite":
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))


def _lifespan(app: App, webhooks: bool) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Open the app for the server's life; run the webhook dispatcher when secrets exist."""
    api = app.api

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with app:
            share_the_gil(app)
            with contextlib.suppress(StormproofError):  # count from the start when installed
                app.enable_metrics()
            await declare_queues(app)
            task = None
            if webhooks and api.settings.webhook_secrets:
                dispatcher = WebhookDispatcher(app, api.settings)
                task = asyncio.create_task(dispatcher.run(), name="stormproof-webhooks")
            try:
                yield
            finally:
                if task is not None:
                    dispatcher.stop()
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    return lifespan


async def _unrouted(_: Request, exc: Exception) -> Response:
    """No route (404) or no such method (405), as problem+json like every other error."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    kind, title = _UNROUTED.get(status, ("internal", "Internal error"))
    answer = problem(status, kind, title, f"{title.lower()} for this path")
    allow = (exc.headers or {}).get("Allow") if isinstance(exc, HTTPException) else None
    if allow:  # RFC 9110: a 405 lists the methods the path does take
        answer.headers["allow"] = allow
    return answer


_UNROUTED = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}


def serve(app: App, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve the front door with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(build(app), host=host, port=port, log_level="warning", **options)
