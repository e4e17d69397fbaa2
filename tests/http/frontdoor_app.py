"""An app with one route of each kind, for the front-door tests (also run by
``stormproof serve`` in a subprocess: its store comes from STORMPROOF_STORE)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from stormproof import App

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

app = App("frontdoor")
orders = app.queue("orders", visibility_timeout=30)


@app.function(timeout=5)
async def process_order(event: Any, context: Any) -> None:
    """Reports a total for each order (batches of one)."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        log = os.environ.get("SP_TEST_LOG")
        if log:
            with open(log, "a") as f:
                f.write(record["body"] + "\n")
        context.complete_request({"total": body["qty"] * 10})


@app.function(timeout=5, max_retry_attempts=0)
async def resize(event: Any, context: Any) -> dict[str, Any]:
    """An async invocation target."""
    if event.get("fail"):
        raise ValueError("cannot resize")
    return {"resized": event["w"], "request": context.request_id}


async def slow(request: dict[str, Any]) -> dict[str, Any]:
    """A synchronous handler that overruns its timeout when asked."""
    await asyncio.sleep(float(request["query"].get("sleep", "0")))
    return {"hello": request["path_params"]["name"]}


booking = app.state_machine(
    "Book",
    definition={
        "StartAt": "Done",
        "States": {"Done": {"Type": "Pass", "Result": {"booked": True}, "End": True}},
    },
)

no_booking = app.state_machine(
    "NoBook",
    definition={
        "StartAt": "Full",
        "States": {"Full": {"Type": "Fail", "Error": "Full", "Cause": "no rooms"}},
    },
)

slow_booking = app.state_machine(
    "SlowBook",
    definition={
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "held", "End": True},
        },
    },
)

ORDER_SCHEMA = {
    "type": "object",
    "required": ["qty"],
    "properties": {"qty": {"type": "integer", "minimum": 1}, "item": {"type": "string"}},
}

app.consume(orders, process_order, batch_size=1)
app.api.post("/orders", to=orders, idempotency="Idempotency-Key", schema=ORDER_SCHEMA, webhook=True)
app.api.post("/strict", to=orders, idempotency="Idempotency-Key", idempotency_required=True)
app.api.post("/limited", to=orders, throttle=dict(rate=1, burst=3))
app.api.post("/flood", to=orders, throttle=dict(rate=40, burst=20))
app.api.post("/resize", to=resize)
app.api.post("/bookings", to=booking)
app.api.post("/nobook", to=no_booking)
app.api.post("/slowbook", to=slow_booking)
app.api.post("/events", to=app.bus("default"), detail_type="order.placed", source="shop")
app.api.get("/hello/{name}", handler=slow, timeout=0.5)
app.api.settings.webhook_secrets = [SECRET]
app.api.settings.callback_hosts = ["127.0.0.1"]
app.api.settings.webhook_schedule = (0, 0.2, 0.2, 0.2)
app.api.post("/keyed", to=orders, api_key_required=True)
app.api.post("/cors", to=orders, cors=dict(origins=["https://shop.example"], max_age=60))
app.api.get("/busy/{name}", handler=slow, timeout=0.5, concurrency=1, cors=dict(origins=["*"]))
