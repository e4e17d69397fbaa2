"""A deliberately misconfigured app: ``stormproof lint examples.lint_misconfigured:app``
reports each planted problem (SP101, SP102, SP103, SP104, SP105, SP106) and nothing else."""

from __future__ import annotations

from typing import Any

from stormproof import App

app = App("misconfigured")

# SP105: the DLQ keeps messages no longer than its source does.
payments_dlq = app.queue("payments-dlq", retention=345_600)
# SP102: 20 s visibility for a 10 s function (< 6x); SP104: dead-letters after 2 receives.
payments = app.queue(
    "payments", visibility_timeout=20, dead_letter=payments_dlq, max_receive_count=2
)
# SP101 (error): 5 s visibility for a 10 s function; SP103: no DLQ.
emails = app.queue("emails", visibility_timeout=5)


@app.function(timeout=10)
async def charge(event: Any, context: Any) -> None:
    """Consumes payments."""


@app.function(timeout=10)
async def send_email(event: Any, context: Any) -> None:
    """Consumes emails."""


@app.function(timeout=5)  # SP106: invoked async elsewhere, failures dropped
async def audit(event: Any, context: Any) -> None:
    """Invoked asynchronously, with no on-failure destination."""


app.consume(payments, charge)
app.consume(emails, send_email)
