"""An app's streams (``app.streams``): declarations, creation when the app opens, expiry."""

from __future__ import annotations

from datetime import timedelta

from stormproof.core import names
from stormproof.core import stream_rules as rules
from stormproof.engine.runtime import Runtime
from stormproof.errors import InvalidAttribute
from stormproof.storage import stream_ops as ops
from stormproof.streams.stream import Stream

Seconds = float | timedelta


class StreamRegistry:
    """The streams of one app, by name."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.declared: dict[str, Stream] = {}

    def declare(self, name: str, shards: int = 1, retention: Seconds = 86_400) -> Stream:
        """Declare a stream (validated now, created when the app opens)."""
        names.refuse_reserved("name", name)
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise InvalidAttribute("name", name, "a string of 1-128 characters")
        seconds = retention.total_seconds() if isinstance(retention, timedelta) else retention
        count, kept = rules.validate_stream(shards, seconds)
        handle = Stream(self.rt, name, count, kept)
        self.declared[name] = handle
        return handle

    def get(self, name: str) -> Stream:
        """A declared stream."""
        if name not in self.declared:
            raise InvalidAttribute("stream", name, f"a declared stream: {sorted(self.declared)}")
        return self.declared[name]

    async def open(self) -> None:
        """Create every declared stream (existing shards are kept)."""
        for handle in self.declared.values():
            await handle.create()

    async def load(self, name: str) -> Stream:
        """A handle on a stream that exists in the store (declared here or not)."""
        row = await self.rt.store.run(lambda: ops.get(name))
        if row is None:
            raise InvalidAttribute("stream", name, "an existing stream")
        shards = await self.rt.store.run(lambda: ops.shards(name))
        open_count = max(1, sum(1 for s in shards if s.state == "OPEN"))
        return self.declared.get(name) or Stream(self.rt, name, open_count, row[1])

    async def run_maintenance(self) -> int:
        """Expire records past each declared stream's retention."""
        return sum([await s.expire() for s in self.declared.values()])
