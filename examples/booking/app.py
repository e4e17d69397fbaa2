"""The booking system: every pattern of the issue in one app (``examples.booking:app``).

POST /bookings stores the request and starts ``ProcessBooking``; Reserve Flight and
Confirm Booking are transactions on the example's flight table; Reserve Payment waits in
the ``payments`` queue for a consumer behind a shared breaker and a global rate limit;
failures are compensated in reverse and land in the booking DLQ; booking events fan out
on the bus to a loyalty queue, a signed webhook and an archive. See docs/booking.md.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from examples.booking import flights, payments
from examples.booking.settings import receiver_url, webhook_secret
from stormproof import App, HmacAuth, Target
from stormproof.errors import TaskDoesNotExist

HERE = Path(__file__).parent
log = logging.getLogger("examples.booking")

app = App("booking")
app.sql_migrations(HERE / "migrations")

# --8<-- [start:dlq]
booking_dlq = app.queue("booking-dlq", retention=14 * 86400)  # failed bookings, for a human
payments_dlq = app.queue("payments-dlq", retention=14 * 86400)
payments_queue = app.queue(
    "payments", visibility_timeout=12, dead_letter=payments_dlq, max_receive_count=20
)
loyalty_dlq = app.queue("loyalty-dlq", retention=14 * 86400)
loyalty_queue = app.queue(
    "loyalty", visibility_timeout=30, dead_letter=loyalty_dlq, max_receive_count=5
)
bus_dlq = app.queue("bus-dlq", retention=14 * 86400)
# Operators read these; nothing here consumes them on purpose.
for _name in ("booking-dlq", "payments-dlq", "loyalty-dlq", "bus-dlq"):
    app.silence(f"queue:{_name}", "SP103", "a dead-letter queue: an operator reads it")
# --8<-- [end:dlq]

# The flight table's writes commit with the machine's step (docs/transactions.md).
# Reserve Flight sits behind a small connection budget: at most 4 runs hold the store at
# once, fleet-wide (the others wait for a slot), as a database that cannot scale with the
# front door would demand.
FLIGHT_CONNECTIONS = 4
reserve_flight = app.transaction("reserve_flight", concurrency=FLIGHT_CONNECTIONS)(
    flights.reserve_seat
)
confirm_booking = app.transaction("confirm_booking")(flights.confirm)
release_flight = app.transaction("release_flight")(flights.release)
# A read for the demo and the reconciliation; a loaded machine may need more than 1 s.
booking_tally = app.transaction("booking_tally", timeout=10)(flights.tally)

# --8<-- [start:breaker]
payment_breaker = app.breaker(
    "payments-api",
    failure_rate=0.5,
    minimum_calls=5,
    window=5,
    consecutive_failures=5,
    open_for=3,
    open_for_max=6,
)
payment_rate = app.limit("payments-api-rate", rate=40, burst=5)  # the API's quota is 50/s
# --8<-- [end:breaker]


# --8<-- [start:load-levelling]
@app.function(timeout=2, concurrency=8)  # reserved concurrency: 8 calls at most, fleet-wide
async def charge_payment(event: Any, context: Any) -> None:
    """Charge one booking and hand the outcome back to its waiting execution."""
    for record in event["Records"]:
        body = payments.body_of(record)
        try:
            charge = await payments.post("/charges", body, key=f"charge-{body['booking_id']}")
        except payments.PaymentDeclined as exc:
            await _answer(body["token"], error="PaymentDeclined", cause=str(exc))
        else:  # PaymentUnavailable propagates: the breaker counts it, the message returns
            await _answer(body["token"], output=charge)


app.consume(
    payments_queue,
    charge_payment,
    batch_size=1,
    max_concurrency=8,  # no more batches than charge_payment's reserved concurrency
    breaker=payment_breaker,
    limit=payment_rate,
)
# --8<-- [end:load-levelling]


async def _answer(
    token: str, output: Any = None, error: str | None = None, cause: str | None = None
) -> None:
    """Report a charge's outcome; a token already answered (a redelivery) is fine."""
    try:
        if error is None:
            await app.send_task_success(token, output)
        else:
            await app.send_task_failure(token, error, cause)
    except TaskDoesNotExist:
        log.info("task already answered: a redelivered charge")


@app.function(timeout=5)
async def refund_payment(event: Any, context: Any) -> dict[str, Any]:
    """Compensation: refund the booking's charge, if any (idempotent on the API's side)."""
    async with payment_breaker:
        return await payments.post(
            "/refunds", {"booking_id": event["booking_id"]}, key=f"refund-{event['booking_id']}"
        )


app.silence("function:refund_payment", "SP106", "runs only as a Task: its Retry handles failures")

# --8<-- [start:retries]
DEFINITION = json.loads((HERE / "process_booking.asl.json").read_text())
# Every Task retries with exponential backoff and full jitter ("JitterStrategy": "FULL"):
# executions that failed together (an outage) do not all retry in the same second.
for _name, _state in DEFINITION["States"].items():
    if _state["Type"] == "Task" and not all(
        r.get("JitterStrategy") == "FULL" for r in _state.get("Retry") or [{}]
    ):
        raise ValueError(f"ProcessBooking: Task {_name!r} must retry with JitterStrategy FULL")
# --8<-- [end:retries]

# --8<-- [start:saga]
process_booking = app.state_machine(
    "ProcessBooking",
    definition=DEFINITION,
    resources={
        "reserve_flight": reserve_flight,
        "confirm_booking": confirm_booking,
        "refund_payment": refund_payment,
        "release_flight": release_flight,
    },
)
# SP109 counts only Lambda's transient error names; these Tasks are transactions and a
# task-token send, whose transient errors (SqlError, States.Timeout) they do retry, while
# States.TaskFailed would also retry a sold-out flight and a declined card.
app.silence(
    "machine:ProcessBooking",
    "SP109",
    "transient errors of transaction/task-token Tasks (SqlError, States.Timeout) are retried;"
    " States.TaskFailed would retry sold-out flights and declined cards",
)
# --8<-- [end:saga]

# --8<-- [start:fan-out]
bus = app.bus("default")


@app.function(timeout=5)
async def award_points(event: Any, context: Any) -> dict[str, Any]:
    """Loyalty: one point per euro. A booking id ending in 7 fails its first attempt, to
    show partial batch failures: only that message comes back, the rest are done."""
    failures = []
    for record in event["Records"]:
        attempt = int(record["attributes"]["ApproximateReceiveCount"])
        if record["body"].rstrip('"}').endswith("7") and attempt == 1:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


# --8<-- [start:load-shedding]
# Points for a booking still queued after 10 minutes (a long loyalty outage) are shed to a
# late queue, in the transaction that deletes them, instead of crowding out fresh ones.
loyalty_late = app.queue("loyalty-late", retention=14 * 86400)
app.silence("queue:loyalty-late", "SP103", "shed work: an operator replays it")
app.consume(
    loyalty_queue,
    award_points,
    batch_size=10,
    report_batch_item_failures=True,
    max_message_age=600,
    stale_to=loyalty_late,
)
# Requests are throttled first per API key (its usage plan, made with `stormproof plans
# create` and `stormproof keys create --plan`), then per route (POST /bookings below).
# --8<-- [end:load-shedding]


# --8<-- [start:observability]
# A human hears of every failed booking, with the failed event and the redrive command.
# A compensated booking ends its execution in Fail after Notify Failed Booking put it in
# booking-dlq; this alarm's notification carries each failed execution as an incident:
# its input (the booking), the error, `stormproof executions redrive <arn>`. (booking-dlq
# is filled by the machine's sqs:sendMessage, which is no incident of its own, so the alarm
# watches the failures that fill it.) While the alarm stays in ALARM each new failure is
# sent too. Here the human is the example's receiver (POST /alarms); in production a
# pager URL or smtp_target(...).
alarm_receiver = f"{receiver_url()}/alarms"
failed_bookings = app.alarm(
    "failed-bookings",
    metric="executions_failed:ProcessBooking",
    threshold=0,
    window=60,
    notify=[alarm_receiver],
)
# The built-in alarms (payments-dlq, loyalty-dlq, bus-dlq not empty; the payments-api
# breaker open) notify the same receiver.
app.alarm_defaults(notify=[alarm_receiver])
# Metrics: `stormproof dev` / `serve` expose /metrics (queue depths, DLQ moves,
# invocations, breaker states); the dashboard at /ui/ shows the DLQs and the executions;
# `stormproof alarms ls` the alarms' states.
# --8<-- [end:observability]


notify = app.http_target(
    f"{receiver_url()}/notifications",
    auth=HmacAuth(webhook_secret()),
    rate=50,
    name="notification-receiver",
)
bus.rule(
    "booking-events",
    pattern={"source": ["booking"]},
    targets=[
        Target(loyalty_queue, input_path="$.detail"),
        Target(notify, max_retry_attempts=10, max_event_age=3600, dead_letter=bus_dlq),
    ],
)
bus.archive("bookings", retention=7 * 86400, pattern={"source": ["booking"]})
# --8<-- [end:fan-out]

# --8<-- [start:storage-first]
BOOKING_SCHEMA = {
    "type": "object",
    "required": ["flight_id", "amount", "card"],
    "properties": {
        "flight_id": {"type": "string", "pattern": "^SP[0-9]{3}$"},
        "amount": {"type": "integer", "minimum": 1, "maximum": 10000},
        "card": {"type": "string", "minLength": 4, "maxLength": 32},
        "callback_url": {"type": "string"},
    },
    "additionalProperties": False,
}
app.api.post(
    "/bookings",
    to=process_booking,
    idempotency="Idempotency-Key",
    idempotency_required=True,
    schema=BOOKING_SCHEMA,
    throttle=dict(rate=200, burst=100),  # per route; each API key's usage plan comes first
    webhook=True,
)
# --8<-- [end:storage-first]

# --8<-- [start:async-responses]
app.api.settings.webhook_secrets = [webhook_secret()]  # Standard Webhooks signatures
app.api.settings.callback_hosts = ["127.0.0.1", "localhost"]
app.api.settings.webhook_breaker = app.breaker("callbacks", minimum_calls=10)
# Outcomes: GET /requests/{id} (polling), the callback_url's webhook, or SSE on
# GET /requests/{id}/events.
# --8<-- [end:async-responses]
