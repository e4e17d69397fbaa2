"""An app with something on every dashboard page: a queue and its DLQ, a breaker, a
function, a bus rule and a state machine whose Task fails."""

from __future__ import annotations

import asyncio
from typing import Any

from stormproof import App, Target

CHECKOUT = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": "charge", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def charge(value: Any) -> Any:
    """Fails for orders marked ``fail``."""
    if isinstance(value, dict) and value.get("fail"):
        raise ConnectionError("card network down")
    return "charged"


def make_app(store_url: str) -> App:
    """A fresh demo app on ``store_url``."""
    app = App("dash", store_url, consume=True)  # runs its executions in-process
    dlq = app.queue("orders-dlq")
    orders = app.queue("orders", dead_letter=dlq, max_receive_count=1)
    app.breaker("payments")
    app.state_machine("Checkout", CHECKOUT, resources={"charge": charge})
    app.state_machine(
        "Slow",
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    )
    app.bus().rule("shop-orders", pattern={"source": ["shop"]}, targets=[Target(orders)])

    @app.function(timeout=5, concurrency=3)
    async def ship(event: Any, context: Any) -> None:
        """Does nothing (listed on the overview)."""

    return app


async def dead_letter(app: App, body: str, count: int = 1) -> None:
    """Put ``count`` messages on orders-dlq the way consumers do: receive past the limit."""
    orders = await app.get_queue("orders")
    for _ in range(count):
        await orders.send(body)
    for _ in range(3):
        await orders.receive(max_messages=10, visibility_timeout=0)
        await asyncio.sleep(0.01)


async def settled(app: App, arn: str) -> Any:
    """The execution once it is no longer RUNNING."""
    for _ in range(2000):
        info = await app.describe_execution(arn)
        if info.status != "RUNNING":
            return info
        await asyncio.sleep(0.01)
    raise AssertionError(f"still running: {arn}")
