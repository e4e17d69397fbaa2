"""The dashboard at ``/ui``: server-rendered pages for queues, DLQs, functions, state
machines, the event bus and breakers (see docs/dashboard.md).

``mount(routes, app)`` adds it to a Starlette route list (the front door does this);
``build(app)`` is a Starlette app of the dashboard alone (``stormproof ui APP``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from stormproof.errors import StormproofError
from stormproof.http.dashboard import (
    alarms,
    archives,
    chaos,
    controls,
    functions,
    machines,
    overview,
    queues,
    requests,
    selection,
    streams,
)
from stormproof.http.dashboard.guard import COOKIE, Forbidden, Guard, read_form
from stormproof.http.dashboard.html import esc, field, page

if TYPE_CHECKING:
    from stormproof.app import App

Handler = Callable[[Request], Awaitable[Response]]


def _guarded(guard: Guard, handle: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            if request.method == "GET":
                guard.check_read(request)
            return await handle(request)
        except Forbidden as exc:
            return page("Forbidden", f"<p>{esc(exc)}</p>", status=403)
        except LookupError as exc:  # a queue, execution or breaker that does not exist
            return page("Not found", f"<p>{esc(exc)}</p>", status=404)
        except StormproofError as exc:  # bad input: say so, no traceback
            return page("Refused", f"<p>{esc(exc)}</p>", status=400)

    return endpoint


def _login(guard: Guard) -> Handler:
    async def login(request: Request) -> Response:
        if request.method == "GET":
            body = (
                '<form method="post">'
                + field("token", "Admin token", kind="password")
                + "<button>Sign in</button></form>"
            )
            return page("Sign in", body)
        token = str((await read_form(request)).get("token", ""))
        answer = RedirectResponse("/ui/", 303)
        answer.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui")
        return answer

    return login


def routes(app: App, admin_token: str | None = None) -> list[BaseRoute]:
    """The dashboard's routes, all under ``/ui``."""
    guard = Guard.create(app, admin_token)
    g: Guarded = lambda f, *a: _guarded(guard, lambda r: f(*a, r))  # noqa: E731
    # POST routes first: "/executions/{arn:path}" would swallow ".../stop".
    inner: list[BaseRoute] = [Route(p, h, methods=["POST"]) for p, h in _writes(g, app, guard)]
    inner += [Route(p, h, methods=["GET"]) for p, h in _pages(g, app, guard)]
    inner += [Route("/login", _login(guard), methods=["GET", "POST"])]
    static = StaticFiles(packages=[("stormproof.http", "static")])
    return [
        Route("/ui", lambda _: RedirectResponse("/ui/", 307)),
        Mount("/ui/static", static, name="ui-static"),
        Mount("/ui", routes=inner),
    ]


#: Makes a guarded handler of a page or write function and its leading arguments.
Guarded = Callable[..., Handler]


def _pages(g: Guarded, app: App, guard: Guard) -> list[tuple[str, Handler]]:
    """The GET routes: pages, their JSON and their live updates."""
    return [
        ("/", g(overview.overview, app)),
        ("/api/overview", g(overview.overview_json, app)),
        ("/events/overview", g(overview.overview_events, app)),
        ("/queues/{name}", g(queues.queue_page, app, guard)),
        ("/queues/{name}/messages/{id}", g(queues.message_page, app)),
        ("/queues/{name}/redrive/events", g(queues.redrive_events, app)),
        ("/machines", g(machines.executions_page, app)),
        ("/executions/{arn:path}", g(machines.execution_page, app, guard)),
        ("/breakers", g(controls.breakers_page, app, guard)),
        ("/buses", g(controls.buses_page, app, guard)),
        ("/audit", g(controls.audit_page, guard)),
        ("/requests", g(requests.lookup_page, app)),
        ("/requests/{id}", g(requests.request_page, app)),
        ("/streams", g(streams.streams_page, app)),
        ("/alarms", g(alarms.alarms_page, app)),
        ("/functions", g(functions.functions_page, app, guard)),
        ("/chaos", g(chaos.chaos_page, app, guard)),
        ("/chaos/reports/{name}", g(chaos.report)),
    ]


def _writes(g: Guarded, app: App, guard: Guard) -> list[tuple[str, Handler]]:
    """The POST routes: every write (CSRF-checked and audited by its handler)."""
    return [
        ("/queues/{name}/send", g(queues.send, app, guard)),
        ("/queues/{name}/purge", g(queues.purge, app, guard)),
        ("/queues/{name}/redrive", g(queues.redrive, app, guard)),
        ("/queues/{name}/redrive/cancel", g(queues.cancel, app, guard)),
        ("/queues/{name}/move", g(selection.move_selected, app, guard)),
        ("/executions/{arn:path}/stop", g(machines.stop, app, guard)),
        ("/executions/{arn:path}/redrive", g(machines.redrive, app, guard)),
        ("/breakers/{name}/force", g(controls.force, app, guard)),
        ("/buses/{name}/test", g(controls.test_pattern, app, guard)),
        ("/buses/{name}/replays", g(archives.start_replay, app, guard)),
        ("/replays/{name}/cancel", g(archives.cancel_replay, app, guard)),
        ("/chaos/faults/{id}/stop", g(chaos.stop_one, app, guard)),
        ("/chaos/stop", g(chaos.stop_all, app, guard)),
        ("/mappings/{id}/enabled", g(functions.set_mapping, app, guard)),
    ]


def mount(app_routes: list[Any], app: App, admin_token: str | None = None) -> None:
    """Add the dashboard's routes to a route list (the front door's)."""
    app_routes.extend(routes(app, admin_token))


def build(app: App, admin_token: str | None = None, **_: Any) -> Starlette:
    """The dashboard alone as an ASGI app (its lifespan opens the app)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with app:
            yield

    return Starlette(routes=routes(app, admin_token), lifespan=lifespan)
