"""Handlers for ``isolation="process"`` tests: importable by module and name in a child."""

from __future__ import annotations

import os
import time
from typing import Any

from stormproof import App
from stormproof.testing import FakeClock

app = App("process-handlers", "sqlite:///unused.db")


@app.function(timeout=30, isolation="process")
def where(event: Any, context: Any) -> int:
    return os.getpid()


@app.function(timeout=1, isolation="process")
def hang(event: Any, context: Any) -> None:
    time.sleep(60)


@app.function(timeout=30, isolation="process")
def fail(event: Any, context: Any) -> None:
    raise ValueError("bad input")


def make_app(store_url: str, clock: FakeClock) -> App:
    """Point the module's app at a test store with a fake clock."""
    app.store_url = store_url
    app.clock = clock
    return app
