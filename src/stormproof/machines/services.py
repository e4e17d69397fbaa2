"""What the step and task consumers and the task integrations use of the execution
manager, as a protocol, so they need not import the manager that builds them."""

from __future__ import annotations

from typing import Any, Protocol

from stormproof.bus.manager import BusManager
from stormproof.core.asl.interpreter import ExecState
from stormproof.engine.runtime import Runtime
from stormproof.functions.registry import FunctionRegistry
from stormproof.machines.definitions import StateMachine
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.registry import QueueRegistry
from stormproof.storage.machine_ops import ExecutionRow


class ExecutionServices(Protocol):
    """The app's runtime and registries, and the execution lookups steps need."""

    app: Runtime
    queues: QueueRegistry
    functions: FunctionRegistry
    buses: BusManager

    def state_of(self, row: ExecutionRow) -> ExecState:
        """The interpreter state of a stored execution."""
        ...

    async def load(self, arn: str) -> ExecutionRow | None:
        """One execution's row, or None."""
        ...

    async def wait_for(self, queue: str, limit: float, *, since: int | None = None) -> None:
        """Nap until a message of ``queue`` may be visible (``since``: a wake mark)."""
        ...

    async def machine(self, reference: str) -> StateMachine:
        """A machine by name or ARN."""
        ...

    async def start_execution(
        self, machine: str, input: Any = None, name: str | None = None, *, parent: str | None = None
    ) -> str:
        """Start an execution; returns its ARN."""
        ...

    async def describe_execution(self, arn: str) -> ExecutionInfo:
        """Status, input, output, error and cause of an execution."""
        ...
