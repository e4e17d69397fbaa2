"""A chaos-enabled process for the multi-process tests (run with ``python -m``).

``probe STORE OUT``: invokes the function ``probe`` every 10 ms and appends
``<epoch> fail|ok`` to OUT each time the outcome changes (and ``ready`` once open).
``inject STORE DURATION``: injects an error fault on ``function:probe`` lasting DURATION
seconds, prints its id, then sleeps until killed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from stormproof import App
from stormproof.chaos import Fault
from stormproof.errors import FunctionError


def _app(store: str, chaos: bool) -> App:
    app = App("probes", store, chaos=chaos)

    @app.function(name="probe")
    async def probe(event: Any, context: Any) -> str:
        return "ok"

    return app


async def probe(store: str, out: str) -> None:
    async with _app(store, chaos=True) as app:
        fn = app.functions.get("probe")
        last = None
        with open(out, "a") as f:
            f.write(f"{time.time()} ready\n")
            f.flush()
            while True:
                try:
                    await fn.invoke({})
                    state = "ok"
                except FunctionError:
                    state = "fail"
                if state != last:
                    f.write(f"{time.time()} {state}\n")
                    f.flush()
                    last = state
                await asyncio.sleep(0.01)


async def inject(store: str, duration: float) -> None:
    async with _app(store, chaos=False) as app:
        fault_id = await app.chaos.inject(Fault("function:probe", "error", duration=duration))
        print(fault_id, flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        asyncio.run(probe(sys.argv[2], sys.argv[3]))
    else:
        asyncio.run(inject(sys.argv[2], float(sys.argv[3])))
