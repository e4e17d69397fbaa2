"""Logs a database outage once when it starts (with its cause) and once when it ends."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("stormproof")


class Outage:
    """The outage state of one store, fed by the outcome of each call."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        """Whether the last call found the store unreachable."""
        return self._since is not None

    def failed(self, cause: str) -> None:
        """A call could not reach the store."""
        if self._since is None:
            self._since = time.monotonic()
            log.warning("event=store.unreachable store=%s cause=%s", self._what, cause)

    def succeeded(self) -> None:
        """A call reached the store."""
        if self._since is not None:
            lasted = time.monotonic() - self._since
            self._since = None
            log.warning("event=store.reachable store=%s after=%.1fs", self._what, lasted)
