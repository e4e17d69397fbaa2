"""Errors of the runtime itself: the store, misuse of the app, injected faults.

The misuse errors are each also their old builtin, so callers that caught
RuntimeError keep working."""

from __future__ import annotations

from stormproof.errors.root import StormproofError


class StoreError(StormproofError):
    """A storage driver failure, translated at the storage boundary.

    ``cause`` names the kind of failure when it is known (``disk full``, ``read-only``,
    ``I/O error``, ``corrupt``, ``locked``, ``timeout``, ``unreachable``), else None.
    """

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        self.cause = cause
        super().__init__(message)


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused or lost)."""


class NotOpen(StormproofError, RuntimeError):
    """``what`` (``"app"`` or ``"store"``) is used before it is opened or after it closed."""

    def __init__(self, what: str, hint: str = "") -> None:
        self.what = what
        super().__init__(f"the {what} is not open" + (f": {hint}" if hint else ""))


class AppNotOpen(NotOpen):
    """The app is used before ``async with app:`` (or ``app.open()``) or after it closed."""

    def __init__(self) -> None:
        super().__init__("app", "use 'async with app:'")


class SyncInsideEventLoop(StormproofError, RuntimeError):
    """A ``*_sync`` method was called from inside a running event loop: await instead."""

    def __init__(self) -> None:
        super().__init__("the *_sync methods are for code outside asyncio: await instead")


class InjectedFault(StormproofError):
    """A fault injected on purpose by ``stormproof.chaos`` (never raised with chaos off).

    ``status`` is the HTTP status a route, HTTP target or webhook answers (503, 429), or
    None; ``action`` is the fault's action (``error``, ``throttle``, ``drop``...).
    """

    def __init__(self, fault_id: str, target: str, action: str, status: int | None = None):
        self.fault_id = fault_id
        self.target = target
        self.action = action
        self.status = status
        shown = f" (status {status})" if status is not None else ""
        super().__init__(f"injected {action} fault {fault_id} on {target}{shown}")
