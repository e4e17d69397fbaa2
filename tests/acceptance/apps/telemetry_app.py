"""A worker app whose handler always fails: its messages reach the DLQ after one receive."""

from __future__ import annotations

import os
from typing import Any

from stormproof import App

app = App("telemetry", os.environ.get("STORMPROOF_STORE"))
dlq = app.queue("orders-dlq")
orders = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=1)


@app.function(timeout=1)
async def handle(event: Any, context: Any) -> None:
    """Fail every time."""
    raise RuntimeError("card declined")


app.consume(orders, handle)
