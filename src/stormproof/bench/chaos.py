"""The cost of a chaos call site: chaos off, and on with no fault matching the call.

The off figure is the ``is None`` test every call site pays (the promise: nothing
measurable); the on figure is that test plus building the target and asking an injector
whose view holds ``faults`` faults on other targets. Both are compared with the time of
one consumed message at a given throughput.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from stormproof.app import App
from stormproof.core.faults import Fault
from stormproof.engine import injection


async def _per_site(n: int, name: str) -> float:
    started = time.perf_counter()
    for _ in range(n):
        if injection.injector is not None:  # the exact shape of the call sites
            await injection.injector.strike(f"function:{name}")
    return (time.perf_counter() - started) / n


async def _measure(calls: int, faults: int, folder: Path) -> list[dict[str, float]]:
    rows = [{"chaos": 0, "faults": 0, "ns_per_site": await _per_site(calls, "f") * 1e9}]
    async with App("bench-chaos", f"sqlite:///{folder}/chaos.db", chaos=True) as app:
        for i in range(faults):
            await app.chaos.inject(Fault(f"function:other-{i}", "error", duration=600))
        view = app.chaos._view
        if view is not None:
            await view.refresh()
        on = await _per_site(calls, "f")
        rows.append({"chaos": 1, "faults": faults, "ns_per_site": on * 1e9})
    return rows


def run(calls: int = 200_000, faults: int = 3) -> list[dict[str, float]]:
    """Nanoseconds per call site with chaos off and with chaos on (no matching fault)."""
    with tempfile.TemporaryDirectory(prefix="stormproof-bench-chaos-") as folder:
        return asyncio.run(_measure(calls, faults, Path(folder)))
