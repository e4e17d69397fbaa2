"""The demo app for ``stormproof ui`` in a subprocess (its store from STORMPROOF_STORE)."""

from __future__ import annotations

import os

from tests.http.dashboard.demo import make_app

app = make_app(os.environ.get("STORMPROOF_STORE", "sqlite:///stormproof.db"))
