"""The booking system's queues and functions with the usual mistakes, for the linter:
``stormproof lint examples.booking_misconfigured:app`` warns (exit 1) about each one,
where ``stormproof lint examples.booking:app`` finds nothing.

- SP102: the payments queue's visibility (5 s) is under 6 x the charge's timeout (2 s);
- SP104: it dead-letters after 1 receive, so one slow charge is a failed booking;
- SP105: its DLQ keeps messages for less time than the queue itself;
- SP103: the loyalty queue has no DLQ, so a poison event is retried for ever;
- SP106: the operator's pager drops a failed invocation after its retries.
"""

from __future__ import annotations

from typing import Any

from stormproof import App, Target

app = App("booking-misconfigured")

payments_dlq = app.queue("payments-dlq", retention=3600)
payments = app.queue(
    "payments", visibility_timeout=5, dead_letter=payments_dlq, max_receive_count=1
)
loyalty = app.queue("loyalty", visibility_timeout=30)


@app.function(timeout=2)
async def charge_payment(event: Any, context: Any) -> None:
    """Charges one booking (as in examples.booking)."""


@app.function(timeout=5)
async def award_points(event: Any, context: Any) -> None:
    """Loyalty points (as in examples.booking)."""


@app.function(timeout=5)
async def page_operator(event: Any, context: Any) -> None:
    """Invoked asynchronously by a bus rule, with no on-failure destination."""


app.consume(payments, charge_payment, batch_size=1)
app.consume(loyalty, award_points, report_batch_item_failures=True)
app.bus("default").rule(
    "failed-bookings", pattern={"source": ["booking"]}, targets=[Target(page_operator)]
)
