"""Who may look and who may change: the admin token, CSRF checks and the audit log.

* The admin token (``STORMPROOF_ADMIN_TOKEN``, or ``admin_token=``) is required on every
  page when set: as ``Authorization: Bearer <token>`` or the ``stormproof-admin`` cookie
  that ``/ui/login`` sets. Without one the dashboard is for loopback only (``serve`` and
  ``ui`` refuse other hosts).
* Every write is a POST carrying this process's CSRF token (a hidden form field) and, when
  the browser sends one, an ``Origin`` equal to the page's own; a cross-site form post has
  neither.
* Every write is recorded as a state record ``ui-audit/<time>-<id>`` (who, what, when)
  before it runs, so the log shows attempts, too.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from stormproof.errors import StormproofError
from stormproof.storage.base import CompareAndSet

if TYPE_CHECKING:
    from stormproof.app import App

AUDIT_PREFIX = "ui-audit/"
MAX_FORM = 1024 * 1024  # a test message is at most SQS's 1 MiB
COOKIE = "stormproof-admin"


class Forbidden(StormproofError):
    """A dashboard request without the admin token or the CSRF token."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body (parsed here: no multipart dependency), at most 1 MiB."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            raise Forbidden(f"the form passes {MAX_FORM} bytes", "body")
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class Guard:
    """The admin token (or None), this process's CSRF token, and the audit log."""

    app: App
    admin_token: str | None
    csrf: str

    @classmethod
    def create(cls, app: App, admin_token: str | None = None) -> Guard:
        """A guard reading ``STORMPROOF_ADMIN_TOKEN`` unless a token is given."""
        token = admin_token or os.environ.get("STORMPROOF_ADMIN_TOKEN") or None
        # Several `serve --workers` processes share one secret, so any of them accepts a form.
        csrf = os.environ.get("STORMPROOF_CSRF_SECRET") or secrets.token_urlsafe(32)
        return cls(app, token, csrf)

    def check_read(self, request: Request) -> None:
        """Refuse a request without the admin token, when one is configured."""
        if self.admin_token is None:
            return
        offered = request.cookies.get(COOKIE, "")
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            offered = bearer[7:]
        if not hmac.compare_digest(offered.encode(), self.admin_token.encode()):
            raise Forbidden("the admin token is required", "admin_token")

    def check_write(self, request: Request, form: Any) -> None:
        """Refuse a write without the CSRF token or from another origin."""
        self.check_read(request)
        token = str(form.get("csrf", ""))
        if not hmac.compare_digest(token.encode(), self.csrf.encode()):
            raise Forbidden("the form's CSRF token is missing or stale; reload the page", "csrf")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != own:
            raise Forbidden(f"cross-origin write from {origin!r} refused", "origin")

    async def write_form(self, request: Request) -> dict[str, str]:
        """The form of a write, once its CSRF token and origin passed :meth:`check_write`."""
        data = await read_form(request)
        self.check_write(request, data)
        return data

    async def record(self, request: Request, action: str, target: str) -> None:
        """Append one audit entry (who, what, when)."""
        now = time.time()
        who = request.client.host if request.client else "unknown"
        if self.admin_token is not None:
            who += " (admin token)"
        entry = {"who": who, "action": action, "target": target, "at": now}
        key = f"{AUDIT_PREFIX}{now:017.6f}-{secrets.token_hex(4)}"
        await self.app.store.apply([CompareAndSet(key, None, json.dumps(entry))])

    async def entries(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""
        records = await self.app.store.list_states(AUDIT_PREFIX)
        records.sort(key=lambda r: r.key, reverse=True)
        return [json.loads(r.value) for r in records[:limit]]
