"""Two workers of this app share one store: every order fails, reaches the DLQ after one
receive, and the built-in ``dlq:orders-dlq`` alarm notifies the ``ops`` queue."""

from __future__ import annotations

import os
from typing import Any

from stormproof import App

app = App("alarmed", os.environ.get("STORMPROOF_STORE"))
dlq = app.queue("orders-dlq", retention=14 * 86400)
orders = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=1)
ops = app.queue("ops")
app.alarm_defaults(notify=[ops])


@app.function(timeout=1)
async def handle(event: Any, context: Any) -> None:
    """Fail every time."""
    raise RuntimeError("card declined")


app.consume(orders, handle, batch_size=1)
