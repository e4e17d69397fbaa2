"""Who carries out a fault: the small interface the runner drives, and its three kinds.

* ``dependency:NAME`` — a simulated loopback dependency (:mod:`.dependency`) in this process;
* ``process:worker`` — the runner SIGKILLs one of its worker processes (and starts a new one);
* every other target — the chaos API, ``app.chaos`` (``inject(Fault) -> id``,
  ``stop(id | None)``), given to :class:`Faults` by the caller that may import it (the CLI).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from stormproof.errors import InvalidAttribute, StormproofError
from stormproof.experiments.dependency import Dependency


class Injector(Protocol):
    """Inject a fault (the contract's dict form), and roll one or all (None) back."""

    async def inject(self, fault: dict[str, Any]) -> str:
        """Start ``fault``; its id."""

    async def stop(self, fault_id: str | None = None) -> None:
        """Roll back one fault, or every fault this injector started."""


class Killer(Protocol):
    """What ``process:worker`` faults act on (the runner's worker pool)."""

    def kill_one(self) -> int | None:
        """SIGKILL one worker process; its pid, or None when none runs."""


ChaosInject = Callable[[dict[str, Any]], Awaitable[str]]
ChaosStop = Callable[[str | None], Awaitable[None]]


class Faults:
    """Routes each fault to the injector for its target; remembers what it started so that
    :meth:`stop` with no id rolls back everything, whatever kind."""

    def __init__(
        self,
        chaos_inject: ChaosInject | None = None,
        chaos_stop: ChaosStop | None = None,
        killer: Killer | None = None,
    ) -> None:
        self._chaos_inject = chaos_inject
        self._chaos_stop = chaos_stop
        self.killer = killer
        self._ids = itertools.count(1)
        self._owner: dict[str, str] = {}  # fault id -> "dependency:NAME" | "process" | "chaos"
        self.killed: list[int] = []

    async def inject(self, fault: dict[str, Any]) -> str:
        """Start ``fault`` with the injector its target needs."""
        target = str(fault["target"])
        if target.startswith("dependency:"):
            dep = Dependency.registry.get(target.removeprefix("dependency:"))
            if dep is None:
                known = ", ".join(sorted(Dependency.registry)) or "none declared"
                raise InvalidAttribute("fault.target", target, f"a declared dependency ({known})")
            fault_id = f"dep-{next(self._ids)}"
            dep.inject(fault_id, fault)
            self._owner[fault_id] = target
            return fault_id
        if target == "process:worker":
            return self._kill(fault)
        if self._chaos_inject is None:
            raise StormproofError(
                f"fault target {target!r} needs the chaos API (stormproof.chaos, app.chaos);"
                " this run has none wired"
            )
        fault_id = await self._chaos_inject(fault)
        self._owner[fault_id] = "chaos"
        return fault_id

    def _kill(self, fault: dict[str, Any]) -> str:
        if fault.get("action") != "crash":
            raise InvalidAttribute(
                "fault.action", fault.get("action"), '"crash" for process:worker'
            )
        if self.killer is None:
            raise InvalidAttribute("workers.processes", 0, "at least 1 for a process:worker fault")
        pid = self.killer.kill_one()
        if pid is not None:
            self.killed.append(pid)
        return f"kill-{next(self._ids)}"

    async def stop(self, fault_id: str | None = None) -> None:
        """Roll back one fault, or (None) every fault of every kind: the kill switch."""
        if fault_id is None:
            for dep in Dependency.registry.values():
                dep.remove(None)
            if self._chaos_stop is not None:
                await self._chaos_stop(None)
            self._owner.clear()
            return
        owner = self._owner.pop(fault_id, None)
        if owner is not None and owner.startswith("dependency:"):
            found = Dependency.registry.get(owner.removeprefix("dependency:"))
            if found is not None:
                found.remove(fault_id)
        elif owner == "chaos" and self._chaos_stop is not None:
            await self._chaos_stop(fault_id)
