"""Invoking a stream mapping's function, and what a range given up sends on failure.

An invocation runs under the function's reserved concurrency (no slot: throttled, which
uses no retry attempt) and may be failed by a chaos fault without running. A range given
up becomes Lambda's on-failure record, logged at WARNING, emitted as
``stream.batch_dropped`` and turned into the on-failure destination's operations, which
commit with the checkpoint that moves past the range.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from stormproof.core import stream_batch as sb
from stormproof.engine import events, injection
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Ticket, reserve
from stormproof.functions.runners import Failed, Outcome
from stormproof.functions.stream_mappings import StreamMapping, failure_record
from stormproof.storage.base import Operation
from stormproof.streams.stream import StreamRecord

# The consumer's logger: its events (stream.batch_dropped) keep the name they always had.
log = logging.getLogger("stormproof.functions.stream_consumer")


class Invoker:
    """Invokes one stream mapping's function; counts the invocations."""

    def __init__(self, rt: Runtime, mapping: StreamMapping) -> None:
        self.rt = rt
        self.mapping = mapping
        self.invocations = 0

    async def invoke(self, event: Any, attempt: int) -> Outcome | None:
        """Invoke the function under its reserved concurrency (None: throttled); a chaos
        fault fails the invocation without running it."""
        if injection.injector is not None:
            hit = await injection.injector.caught(f"stream-mapping:{self.mapping.stream.name}")
            if hit is not None:
                self.invocations += 1
                return Failed(type(hit).__name__, str(hit))
        pool = self.mapping.function.slot_pool()
        tickets = await reserve(None, [pool], 1) if pool is not None else [Ticket(None, ())]
        if not tickets:
            return None
        try:
            outcome = await self.mapping.function.execute(
                event,
                request_id=str(uuid.uuid4()),
                attempt=attempt,
                ticket=tickets[0],
            )
        finally:
            tickets[0].finish()
        self.invocations += 1
        return outcome

    async def failure_ops(
        self, records: list[StreamRecord], give: sb.GiveUp, now: float
    ) -> list[Operation]:
        """The on-failure record of ``records`` given up, as the destination's operations
        (none without a destination); logged and emitted here."""
        body = failure_record(self.mapping, records, give, now)
        info = body["KinesisBatchInfo"]
        log.warning(
            "event=stream.batch_dropped consumer=%s shard=%s condition=%s start=%s end=%s",
            self.mapping.id,
            info["shardId"],
            give.condition,
            info["startSequenceNumber"],
            info["endSequenceNumber"],
        )
        dest = self.mapping.on_failure
        events.emit(
            "stream.batch_dropped",
            self.rt.name,
            function=self.mapping.function.name,
            stream=self.mapping.stream.name,
            shard_id=info["shardId"],
            record=body,
            condition=give.condition,
            attempt=give.invocations,
            destination=getattr(dest, "name", None),
        )
        return [] if dest is None else await dest.delivery_ops(body, now)
