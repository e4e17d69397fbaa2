"""The runtime protocol: what a feature may use of the app that built it.

Features receive a :class:`Runtime` (and the registries of lower ranks) from the
composition root, never the ``App`` itself, so no feature imports ``stormproof.app``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from stormproof.clock import Clock
from stormproof.core.queue_rules import QueueAttributes
from stormproof.storage.base import Store

T = TypeVar("T")


class Runtime(Protocol):
    """The open store, the clock, this process's identity and the sync bridge."""

    name: str
    clock: Clock
    instance_id: str

    @property
    def store(self) -> Store:
        """The open store (raises ``AppNotOpen`` before ``open()``)."""
        ...

    def attributes_of(self, name: str) -> QueueAttributes:
        """Cached attributes of an open queue (raises ``QueueDoesNotExist``)."""
        ...

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine for a caller outside asyncio."""
        ...
