"""The process's injector: applies the faults its views obey at the call sites.

One :class:`ChaosInjector` is installed in ``stormproof.engine.injection`` while at least
one app with chaos enabled is open; each open app adds its :class:`FaultView`. Every fault
applied is visible as injected: the ``fault.injected`` runtime event (the metric
``stormproof_faults_injected_total{target,action}`` counts it), a WARNING log line with
``injected=true``, and the fault's ``injected`` count in ``app.chaos.faults()``.
"""

from __future__ import annotations

import builtins
import importlib
import logging
import os
import signal

from stormproof.chaos.view import FaultView, Obeyed
from stormproof.core import faults as decide
from stormproof.engine import events, injection
from stormproof.errors import InjectedFault, Throttled

log = logging.getLogger("stormproof.chaos")
# The status a route answers for a fault that is not an HTTP status of its own.
ROUTE_STATUS = {"error": 500, "timeout": 504, "throttle": 429, "drop": 503}


class ChaosInjector:
    """Applies the faults of every chaos-enabled app open in this process."""

    def __init__(self) -> None:
        self.views: list[tuple[str, FaultView]] = []

    async def caught(self, target: str) -> BaseException | None:
        """Add latency, crash, or return the exception the call fails with (first fault
        that returns one wins; latencies of several faults add up)."""
        for app, view in self.views:
            for obeyed in view.hits(target):
                exc = await self._apply(app, view, obeyed, target)
                if exc is not None:
                    return exc
        return None

    async def strike(self, target: str) -> None:
        """:meth:`caught`, raising its exception."""
        exc = await self.caught(target)
        if exc is not None:
            raise exc

    async def _apply(
        self, app: str, view: FaultView, obeyed: Obeyed, target: str
    ) -> BaseException | None:
        fault, fault_id = obeyed.placement.fault, obeyed.placement.id
        view.tally.add(fault_id)
        log.warning(
            "event=fault.injected injected=true app=%s fault=%s target=%s action=%s",
            app,
            fault_id,
            target,
            fault.action,
        )
        events.emit(
            "fault.injected",
            app,
            fault_id=fault_id,
            target=fault.target,
            call=target,
            action=fault.action,
        )
        delay = decide.draw_latency(fault.latency, obeyed.rng)
        if delay > 0:
            await view.clock.sleep(delay)
        if fault.action == "crash":
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        if fault.action == "latency":
            return None
        return failure(fault, fault_id, target)


def failure(fault: decide.Fault, fault_id: str, target: str) -> BaseException:
    """The exception a call fails with under ``fault`` (a route's carries its status)."""
    if fault.status is not None:
        return InjectedFault(fault_id, target, fault.action, fault.status)
    if fault.kind == "route" or (fault.action == "throttle" and fault.kind in decide.HTTP_KINDS):
        return InjectedFault(fault_id, target, fault.action, ROUTE_STATUS[fault.action])
    message = f"injected {fault.action} fault {fault_id} on {target}"
    if fault.action == "timeout":
        return TimeoutError(message)
    if fault.action == "throttle":
        return Throttled(target, message, retry_after=1.0)
    if fault.action == "drop":
        return ConnectionResetError(message)
    return _exception(decide.error_name(fault), message, fault_id, target)


def _exception(name: str, message: str, fault_id: str, target: str) -> BaseException:
    """An instance of the named exception type; an :class:`InjectedFault` when the name
    does not resolve or the type cannot be made from a message."""
    try:
        if "." in name:
            module, _, attr = name.rpartition(".")
            kind = getattr(importlib.import_module(module), attr)
        else:
            kind = getattr(builtins, name)
        made = kind(message)
    except Exception:
        return InjectedFault(fault_id, target, "error")
    return made if isinstance(made, BaseException) else InjectedFault(fault_id, target, "error")


_INJECTOR = ChaosInjector()


def attach(app: str, view: FaultView) -> None:
    """Obey ``view``'s faults from now on (installs the process's injector)."""
    _INJECTOR.views.append((app, view))
    injection.install(_INJECTOR)


def detach(view: FaultView) -> None:
    """Stop obeying ``view``; with no view left, chaos is off again (``injector`` None)."""
    _INJECTOR.views = [(a, v) for a, v in _INJECTOR.views if v is not view]
    if not _INJECTOR.views:
        injection.install(None)
