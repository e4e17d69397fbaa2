"""A well-configured app: ``stormproof lint examples.lint_clean:app`` finds nothing."""

from __future__ import annotations

from typing import Any

from stormproof import App, Target

app = App("clean")

orders_dlq = app.queue("orders-dlq", retention=14 * 86400)
orders = app.queue("orders", visibility_timeout=60, dead_letter=orders_dlq, max_receive_count=5)
failures = app.queue("failures", retention=14 * 86400)
app.silence("queue:failures", "SP103", "not consumed here: an operator reads it")


@app.function(timeout=10, on_failure=failures, concurrency=4)
async def reserve(event: Any, context: Any) -> None:
    """Consumes orders."""


app.consume(orders, reserve, max_concurrency=4)
retry = [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3, "JitterStrategy": "FULL"}]
app.state_machine(
    "checkout",
    {
        "StartAt": "Reserve",
        "States": {"Reserve": {"Type": "Task", "Resource": "reserve", "Retry": retry, "End": True}},
    },
    resources={"reserve": lambda e: e},
)
shop = app.bus("shop")
shop.rule("audit", {"source": ["shop"]}, [Target(failures)])
