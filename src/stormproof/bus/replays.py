"""Replay handles and their status records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from stormproof.errors import ReplayNotFound

ACTIVE = ("RUNNING", "CANCELLING")


class ReplayControl(Protocol):
    """What a replay handle asks of the process's replay manager."""

    async def load(self, name: str) -> tuple[int, ReplayStatus] | None:
        """The replay's record version and status, or None."""
        ...

    async def cancel(self, name: str) -> ReplayStatus:
        """Stop the replay."""
        ...


@dataclass(frozen=True)
class ReplayStatus:
    """A replay's state (RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED) and progress."""

    name: str
    bus: str
    archive: str
    start: float
    end: float
    rules: list[str] | None
    state: str
    total: int  # archived events in the window when the replay started
    replayed: int = 0
    cursor: int = 0  # the last archive row id replayed
    last: int = 0  # the last archive row id of the window
    event_last_replayed_time: float | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    owner: str = ""
    lease_until: float = 0.0
    failure_reason: str | None = None


def state_key(name: str) -> str:
    """The state record key of a replay."""
    return f"replay/{name}"


class Replay:
    """A handle on a replay: ``status()``, ``cancel()``, ``wait()``."""

    def __init__(self, manager: ReplayControl, name: str) -> None:
        self._manager = manager
        self.name = name

    def __repr__(self) -> str:
        return f"Replay({self.name!r})"

    async def status(self) -> ReplayStatus:
        """The replay's state and progress."""
        found = await self._manager.load(self.name)
        if found is None:
            raise ReplayNotFound(self.name)
        return found[1]

    async def cancel(self) -> ReplayStatus:
        """Stop the replay; events already replayed stay delivered."""
        return await self._manager.cancel(self.name)

    async def wait(self, timeout: float = 60) -> ReplayStatus:
        """Wait (real time) until the replay is no longer active."""
        async with asyncio.timeout(timeout):
            while (status := await self.status()).state in ACTIVE:
                await asyncio.sleep(0.02)
        return status
