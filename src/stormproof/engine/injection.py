"""The one hook of chaos fault injection (see docs/chaos.md).

Call sites consult the module-level :data:`injector`; it is ``None`` unless an app opened
with chaos enabled installed one (``stormproof.chaos``), so with chaos off a call site
costs one ``is None`` test (``stormproof bench chaos``). A call site names its target
(``function:NAME``, ``route:POST /bookings``...) only inside that test, so the string is
never built when chaos is off.
"""

from __future__ import annotations

from typing import Protocol


class Injector(Protocol):
    """What a call site asks of the chaos runtime."""

    async def caught(self, target: str) -> BaseException | None:
        """Apply this process's active faults on ``target``: add latency, SIGKILL the
        process (crash), and return the exception the call must fail with, if any."""
        ...

    async def strike(self, target: str) -> None:
        """:meth:`caught`, raising the exception it returns."""
        ...


injector: Injector | None = None


def install(new: Injector | None) -> None:
    """Make ``new`` the process's injector (``None``: chaos off)."""
    global injector
    injector = new
