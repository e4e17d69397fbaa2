"""The store with faults: a proxy that consults the ``store`` target before each call.

Installed by an app with chaos enabled (and only then), so a ``store`` fault adds latency
to, or fails with a transient ``StoreUnavailable``, the runtime's own store calls: the
runtime's retries and reconnects must then hold. ``open``, ``close``, ``now`` and ``wait``
pass straight through (a wait is not a call to fail), as does every attribute.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

from stormproof.engine import injection
from stormproof.storage.base import Store

PASS_THROUGH = frozenset({"open", "close", "now", "wait"})


class FaultyStore:
    """Wraps a store; see the module docstring."""

    def __init__(self, inner: Store) -> None:
        object.__setattr__(self, "inner", inner)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name in PASS_THROUGH or name.startswith("_") or not _is_coroutine(found):
            return found

        async def call(*args: Any, **kwargs: Any) -> Any:
            if injection.injector is not None:
                await injection.injector.strike("store")
            return await found(*args, **kwargs)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)


def _is_coroutine(found: Any) -> bool:
    return inspect.iscoroutinefunction(found)


def faulty(store: Store) -> Store:
    """``store`` behind the proxy."""
    return cast(Store, FaultyStore(store))
