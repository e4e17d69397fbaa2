"""The ASGI factory uvicorn's worker processes call for ``stormproof serve --workers N``.

uvicorn starts several processes only from an import string, not from an object, so
``stormproof serve`` hands each worker the app spec and store URL in the environment
and every worker builds the same front door from them. Everything the processes must
agree on is in the store (throttle buckets, idempotency keys, request records, webhook
deliveries) or in the environment (the dashboard's CSRF secret), so a request may land
on any of them.
"""

from __future__ import annotations

import importlib
import os
import sys

from starlette.applications import Starlette

from stormproof.app import App
from stormproof.errors import StormproofError
from stormproof.http.server import build

#: The ``module:attribute`` of the App every worker process serves.
APP_ENV = "STORMPROOF_SERVE_APP"
#: The store URL every worker process opens.
STORE_ENV = "STORMPROOF_STORE"
#: Shared by the workers so a dashboard form rendered by one is accepted by another.
CSRF_ENV = "STORMPROOF_CSRF_SECRET"


def load(spec: str) -> App:
    """Import ``module:attribute`` (from the working directory too) and return the App."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise StormproofError(f"{APP_ENV} must be module:attribute, got {spec!r}")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, ".")
    app = getattr(importlib.import_module(module_name), attr, None)
    if not isinstance(app, App):
        raise StormproofError(f"{APP_ENV}={spec!r} is not a stormproof.App")
    return app


def app_from_env() -> Starlette:
    """The front door of the App named by ``STORMPROOF_SERVE_APP`` (uvicorn's factory)."""
    spec = os.environ.get(APP_ENV)
    if not spec:
        raise StormproofError(f"{APP_ENV} is not set (stormproof serve sets it)")
    app = load(spec)
    store = os.environ.get(STORE_ENV)
    if store:
        app.store_url = store
    return build(app)
