"""What a bus, its deliveries, schedules and replays use of the app's bus manager, as a
protocol, so they need not import the manager that builds them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol

from stormproof.bus.replays import Replay
from stormproof.engine.http_sender import HttpSender
from stormproof.engine.leases import LeaseKeeper
from stormproof.engine.runtime import Runtime
from stormproof.queues.registry import QueueRegistry


class ReplayStarter(Protocol):
    """Starts replays of a bus's archive."""

    async def start(
        self,
        bus: Any,
        archive: str,
        start: Any,
        end: Any,
        rules: Sequence[str] | None,
        name: str | None,
    ) -> Replay:
        """Start a replay; returns its handle."""
        ...


class BusServices(Protocol):
    """The runtime, the other buses and the shared delivery machinery.

    Buses are typed ``Any`` here: this module sits below :mod:`stormproof.bus.bus`.
    """

    app: Runtime
    queues: QueueRegistry
    buses: dict[str, Any]
    http: HttpSender
    max_deliveries: int
    rng: random.Random

    @property
    def replays(self) -> ReplayStarter:
        """Starts replays of this app's archives."""
        ...

    @property
    def keeper(self) -> LeaseKeeper:
        """The lease keeper of the delivery consumers."""
        ...

    async def ready(self, bus: Any) -> None:
        """Make sure the store knows the bus's current definitions."""
        ...

    async def get(self, name: str) -> Any:
        """A bus by name (declared here or read from the store's catalog)."""
        ...
