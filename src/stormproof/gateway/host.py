"""What the front door uses of the app: the runtime plus a few registry calls, as a
protocol, so the gateway need not import the composition root."""

from __future__ import annotations

from typing import Any, Protocol

from stormproof.engine.runtime import Runtime
from stormproof.machines.executions import ExecutionManager
from stormproof.machines.records import ExecutionInfo
from stormproof.queues.queue import Queue


class GatewayHost(Runtime, Protocol):
    """An open app as the front door sees it."""

    executions: ExecutionManager

    @property
    def api(self) -> Any:
        """The app's routes (a :class:`stormproof.gateway.routes.Api`)."""
        ...

    async def create_queue(self, name: str, **attributes: Any) -> Queue:
        """Create (or update) a queue at run time."""
        ...

    async def describe_execution(self, execution_arn: str) -> ExecutionInfo:
        """Status, input, output, error and cause of an execution."""
        ...
