"""A fake clock that only moves when told to."""

from __future__ import annotations

import asyncio

from stormproof.errors import InvalidAttribute


class FakeClock:
    """A :class:`~stormproof.clock.Clock` whose time moves only with :meth:`advance`.

    ``sleep`` returns once the clock has been advanced past the sleeper's deadline, so
    tests never wait in real time for a timeout.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        """The fake time (epoch seconds)."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise InvalidAttribute("seconds", seconds, "seconds >= 0: time only moves forward")
        self._now += seconds
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + seconds, future))
        await future
