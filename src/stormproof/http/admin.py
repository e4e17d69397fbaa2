"""Admin endpoints of the front door: API keys and usage plans over HTTP.

They answer only with ``Authorization: Bearer <admin token>`` (compared in constant time);
without a token configured (``app.api.settings.admin_token`` or the environment variable
``STORMPROOF_ADMIN_TOKEN``) they are not mounted at all, and ``stormproof serve`` refuses a
non-loopback address.

- ``GET /admin/keys``, ``POST /admin/keys`` ``{"name", "plan"?, "routes"?}`` → the key and
  its ``secret`` (shown once), ``POST /admin/keys/{id}/revoke``;
- ``GET /admin/plans``, ``POST /admin/plans`` ``{"name", "rate"?, "burst"?, "quota"?,
  "period"?, "offset"?}``;
- ``GET /admin/chaos/faults``, ``POST /admin/chaos/faults`` (a fault's JSON form, see
  docs/chaos.md) → ``{"id", "fault"}``, ``DELETE /admin/chaos/faults`` (the kill switch)
  and ``DELETE /admin/chaos/faults/{id}``: chaos is never reachable without the token.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stormproof.core.faults import Fault
from stormproof.errors import Forbidden, PayloadInvalid
from stormproof.gateway import keys as api_keys
from stormproof.gateway import plans as usage_plans
from stormproof.http.problems import from_exception

if TYPE_CHECKING:
    from stormproof.app import App

MAX_BODY = 64 * 1024
PLAN_FIELDS = {"name", "rate", "burst", "quota", "period", "offset"}


def admin_token(app: App) -> str | None:
    """The configured admin token (settings first, then the environment), if any."""
    token = app.api.settings.configured_admin_token()
    return str(token) if token else None


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw[:MAX_BODY]) if len(raw) <= MAX_BODY else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PayloadInvalid(
            "the body must be a JSON object", errors=[{"field": "", "message": "a JSON object"}]
        )
    return body


class Admin:
    """The admin handlers of one app; each returns ``(status, body)``."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def list_keys(self, _: Request) -> tuple[int, Any]:
        """``GET /admin/keys``."""
        return 200, [k.describe() for k in await api_keys.list_keys(self.app.store)]

    async def create_key(self, request: Request) -> tuple[int, Any]:
        """``POST /admin/keys``: the key and its secret, shown once."""
        body = await _json(request)
        key, secret = await api_keys.create_key(
            self.app.store,
            body.get("name"),  # type: ignore[arg-type]
            self.app.clock.now(),
            plan=body.get("plan"),
            routes=list(body.get("routes") or []),
        )
        return 201, {**key.describe(), "secret": secret}

    async def revoke_key(self, request: Request) -> tuple[int, Any]:
        """``POST /admin/keys/{id}/revoke``."""
        key = await api_keys.update_key(self.app.store, request.path_params["id"], revoked=True)
        return 200, key.describe()

    async def list_plans(self, _: Request) -> tuple[int, Any]:
        """``GET /admin/plans``."""
        return 200, [p.describe() for p in await usage_plans.list_plans(self.app.store)]

    async def create_plan(self, request: Request) -> tuple[int, Any]:
        """``POST /admin/plans``."""
        body = await _json(request)
        unknown = sorted(set(body) - PLAN_FIELDS)
        if unknown:
            problem = [{"field": unknown[0], "message": "not a plan field"}]
            raise PayloadInvalid(f"unknown field {unknown[0]!r}", errors=problem)
        name = body.pop("name", None)
        return 201, (await usage_plans.create_plan(self.app.store, name, **body)).describe()

    async def list_faults(self, _: Request) -> tuple[int, Any]:
        """``GET /admin/chaos/faults``."""
        return 200, await self.app.chaos.faults()

    async def inject_fault(self, request: Request) -> tuple[int, Any]:
        """``POST /admin/chaos/faults``: a fault's JSON form; 400 names a bad field."""
        fault = Fault.from_dict(await _json(request))
        return 201, {"id": await self.app.chaos.inject(fault), "fault": fault.to_dict()}

    async def stop_faults(self, request: Request) -> tuple[int, Any]:
        """``DELETE /admin/chaos/faults[/{id}]``: one fault, or all (the kill switch)."""
        return 200, {"removed": await self.app.chaos.stop(request.path_params.get("id"))}


def _guarded(token: str, handle: Callable[[Request], Awaitable[Any]]) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        try:
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise Forbidden("admin endpoints need Authorization: Bearer <admin token>")
            status, body = await handle(request)
        except Exception as exc:  # problem+json, never a traceback
            return from_exception(exc)
        return JSONResponse(body, status)

    return endpoint


def routes(app: App, token: str) -> list[Route]:
    """The admin routes, each behind the token."""
    admin = Admin(app)
    table = [
        ("/admin/keys", admin.list_keys, "GET"),
        ("/admin/keys", admin.create_key, "POST"),
        ("/admin/keys/{id}/revoke", admin.revoke_key, "POST"),
        ("/admin/plans", admin.list_plans, "GET"),
        ("/admin/plans", admin.create_plan, "POST"),
        ("/admin/chaos/faults", admin.list_faults, "GET"),
        ("/admin/chaos/faults", admin.inject_fault, "POST"),
        ("/admin/chaos/faults", admin.stop_faults, "DELETE"),
        ("/admin/chaos/faults/{id}", admin.stop_faults, "DELETE"),
    ]
    return [Route(path, _guarded(token, h), methods=[m]) for path, h, m in table]
