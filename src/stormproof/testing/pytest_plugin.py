"""stormproof's pytest plugin (registered by the ``pytest11`` entry point).

Fixtures for users' own tests (see docs/testing.md):

- ``stormproof_clock``: a :class:`~stormproof.testing.FakeClock` (time moves when told);
- ``stormproof_store``: the URL of a fresh SQLite store in the test's temporary folder,
  also set as ``STORMPROOF_STORE`` so an ``App("name")`` without a store uses it;
- ``stormproof_app``: an ``App("test")`` on that store and clock, not opened yet
  (declare queues, functions and machines on it, then ``async with stormproof_app:``);
- ``drain``: :func:`stormproof.testing.drain.drain`, ``await drain(app)`` runs every
  consumer until idle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from stormproof.app import App
from stormproof.testing.clock import FakeClock
from stormproof.testing.drain import drain as drain_app


@pytest.fixture
def stormproof_clock() -> FakeClock:
    """A fake clock for the app under test."""
    return FakeClock()


@pytest.fixture
def stormproof_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store URL (also ``STORMPROOF_STORE`` for the test)."""
    url = f"sqlite:///{tmp_path / 'stormproof.db'}"
    monkeypatch.setenv("STORMPROOF_STORE", url)
    return url


@pytest.fixture
def stormproof_app(stormproof_store: str, stormproof_clock: FakeClock) -> App:
    """An unopened app on the temporary store and the fake clock."""
    return App("test", stormproof_store, clock=stormproof_clock)


@pytest.fixture
def drain() -> Callable[[App], Awaitable[int]]:
    """``await drain(app)``: run every consumer of the open app until idle."""
    return drain_app
