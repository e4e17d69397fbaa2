"""The tumbling-window state of a stream mapping, per lease unit, kept in the store.

Each unit's open window (its start, the function's last returned state, whether it ended
early) is a state record ``stream-window/<mapping>/<unit>``; it is written with a
compare-and-set in the same transaction as the checkpoint it goes with, so a worker that
takes a shard over resumes the window's state exactly where the checkpoint is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stormproof.core import stream_windows as sw
from stormproof.engine.runtime import Runtime
from stormproof.storage import unit_ops
from stormproof.storage.base import CompareAndSet, OpResult


@dataclass
class Window:
    """A unit's window: ``start`` (None: none open), ``state``, stored ``version``."""

    start: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    early: bool = False
    version: int | None = None
    attempts: int = 0  # failed final invocations so far
    not_before: float = 0.0  # clock time before which the final invocation is not retried


class Windows:
    """The windows of one mapping's units held by this worker (loaded lazily)."""

    def __init__(self, rt: Runtime, mapping_id: str, size: float, arn: str) -> None:
        self.rt = rt
        self.mapping_id = mapping_id
        self.size = size
        self.arn = arn
        self._by_unit: dict[str, Window] = {}

    def key(self, unit: str) -> str:
        """The state record of a unit's window."""
        return f"stream-window/{self.mapping_id}/{unit}"

    async def get(self, unit: str) -> Window:
        """The unit's window, read from the store the first time."""
        window = self._by_unit.get(unit)
        if window is None:
            record = await self.rt.store.run(lambda: unit_ops.get_state(self.key(unit)))
            window = Window()
            if record is not None:
                saved = json.loads(record.value)
                window = Window(saved["start"], saved["state"], saved["early"], record.version)
            self._by_unit[unit] = window
        return window

    def retry_times(self) -> list[float]:
        """When final invocations backing off may be retried."""
        return [w.not_before for w in self._by_unit.values() if w.start is not None and w.attempts]

    def forget(self, unit: str) -> None:
        """Drop the cached window (the lease was lost: another worker owns it now)."""
        self._by_unit.pop(unit, None)

    def event(self, unit: str, records: list[dict[str, Any]], start: float, **flags: Any) -> Any:
        """Lambda's Kinesis event for a window: records, window, state, flags."""
        window = self._by_unit[unit]
        state = window.state if window.start == start else {}
        return {
            "Records": records,
            "window": {"start": _iso(start), "end": _iso(start + self.size)},
            "state": state,
            "shardId": unit.split("#")[0],
            "eventSourceARN": self.arn,
            "isFinalInvokeForWindow": flags.get("final", False),
            "isWindowTerminatedEarly": flags.get("early", False),
        }

    def accept(self, unit: str, start: float, response: Any) -> CompareAndSet:
        """The window after a successful invocation, and the write that stores it."""
        window = self._by_unit[unit]
        state = sw.returned_state(response)
        window.start, window.state, window.early = start, state, sw.too_big(state)
        return self._write(unit, window)

    def close(self, unit: str) -> CompareAndSet:
        """The window is over (its final invocation succeeded or was given up)."""
        window = self._by_unit[unit]
        window.start, window.state, window.early, window.attempts = None, {}, False, 0
        return self._write(unit, window)

    def stored(self, unit: str, result: OpResult) -> None:
        """Record the version a committed write gave the unit's window."""
        window = self._by_unit.get(unit)
        if window is not None and result.values:
            window.version = int(str(result.values[0]))

    def _write(self, unit: str, window: Window) -> CompareAndSet:
        value = json.dumps({"start": window.start, "state": window.state, "early": window.early})
        return CompareAndSet(self.key(unit), window.version, value)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
