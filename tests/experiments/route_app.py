"""An app with one front-door route onto a queue, for the route-load test."""

from __future__ import annotations

from typing import Any

from stormproof import App
from stormproof.experiments import Ledger

app = App("chaos-route")
ledger = Ledger(app)
orders = app.queue("orders", visibility_timeout=30)


@app.function(timeout=5)
@ledger.recorded
async def take(event: Any, context: Any) -> None:
    """Accepts every order."""


app.consume(orders, take, batch_size=10)
app.api.post("/orders", to=orders)
