"""``app.chaos``: inject, list and stop faults; obey them when chaos is enabled.

Any process may inject or stop faults (the CLI, an experiment runner, the admin API);
only a process whose app has chaos enabled (``App(..., chaos=True)`` or
``STORMPROOF_CHAOS=1``) obeys them. With chaos off nothing is read or installed, and
every call site costs one ``is None`` test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from stormproof.chaos.book import FaultBook
from stormproof.chaos.injector import attach, detach
from stormproof.chaos.store_proxy import faulty
from stormproof.chaos.view import REFRESH, FaultView
from stormproof.clock import Clock
from stormproof.core.faults import Fault
from stormproof.engine.periodic import Periodic
from stormproof.storage.base import Store

ENV = "STORMPROOF_CHAOS"


def enabled_by_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``STORMPROOF_CHAOS`` asks for chaos (``1``, ``true``, ``yes``, ``on``)."""
    value = (os.environ if environ is None else environ).get(ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Chaos:
    """The chaos controls of one app (``app.chaos``)."""

    def __init__(
        self, app: str, instance_id: str, clock: Clock, store: Callable[[], Store], enabled: bool
    ) -> None:
        self.app = app
        self.instance_id = instance_id
        self.clock = clock
        self.enabled = enabled
        self._store = store  # the raw store: faults are read and written around the proxy
        self._view: FaultView | None = None
        self._refresh: Periodic | None = None

    @property
    def book(self) -> FaultBook:
        """The app's fault book in the open store."""
        return FaultBook(self._store(), self.app)

    def wrap(self, store: Store) -> Store:
        """The store the runtime uses: behind the faulty-store proxy when chaos is on."""
        return faulty(store) if self.enabled else store

    async def open(self) -> None:
        """Start obeying (chaos enabled only): read the book now, then every 0.5 s."""
        if not self.enabled or self._view is not None:
            return
        view = FaultView(self.book, self.clock, self.instance_id)
        await view.refresh()
        self._view = view
        self._refresh = Periodic("stormproof-chaos", view.refresh, REFRESH, self.clock)
        self._refresh.start()
        attach(self.app, view)

    async def close(self) -> None:
        """Stop obeying and give back any COUNT slot."""
        view, refresh = self._view, self._refresh
        self._view = self._refresh = None
        if view is None or refresh is None:
            return
        detach(view)
        await refresh.stop()
        await view.close()

    async def inject(self, fault: Fault | Mapping[str, Any]) -> str:
        """Store a fault (a :class:`Fault` or its dict form); every obeying process sees it
        within 1 s. Returns its id."""
        made = fault if isinstance(fault, Fault) else Fault.from_dict(fault)
        return await self.book.inject(made)

    async def stop(self, fault_id: str | None = None) -> int:
        """Remove one fault, or with no id every fault of the app (the kill switch); every
        process stops obeying within 1 s. Returns how many were removed."""
        return await self.book.stop(fault_id)

    async def faults(self) -> list[dict[str, Any]]:
        """The faults not yet expired: dicts with ``id``, ``fault``, ``starts_at``,
        ``expires_at``, ``active`` and ``injected`` (calls hit so far, every process)."""
        return await self.book.infos()
