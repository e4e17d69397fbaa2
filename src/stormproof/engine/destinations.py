"""The destination protocol: anything a record can be delivered to.

Queues, functions, buses and state machines implement it, so a feature below another
(a function's ``on_failure``, a bus target, a task integration) can deliver to it without
importing it: the receiver knows how to turn a record into unit-of-work operations.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from stormproof.storage.base import Operation

RECORD_SOURCE = "stormproof"


@runtime_checkable
class Destination(Protocol):
    """A queue, a function, a bus or a state machine, as a place to deliver records."""

    kind: str  # "queue" | "function" | "bus" | "state_machine"
    name: str

    @property
    def arn(self) -> str:
        """The resource name used where AWS puts the destination's ARN."""
        ...

    async def delivery_ops(
        self, record: Any, now: float, *, source: str = RECORD_SOURCE, detail_type: str = ""
    ) -> list[Operation]:
        """The operations that deliver ``record`` (committed by the caller's unit of work).

        ``source`` and ``detail_type`` shape the event when the destination is a bus.
        """
        ...


def is_destination(value: Any) -> bool:
    """Whether ``value`` implements :class:`Destination`."""
    return isinstance(value, Destination) and isinstance(getattr(value, "kind", None), str)
