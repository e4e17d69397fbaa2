"""A deliberately misconfigured app: ``stormproof lint examples.lint_misconfigured:app``
reports each planted problem (SP101-SP115, marked below) and nothing else."""

from __future__ import annotations

import functools
import urllib.request  # SP115: a transaction function's module imports an HTTP client
from collections.abc import Callable
from typing import Any

from stormproof import App, Target

app = App("misconfigured")

# SP105: the DLQ keeps messages no longer than its source does.
payments_dlq = app.queue("payments-dlq", retention=345_600)
# SP102: 20 s visibility for a 10 s function (< 6x); SP104: dead-letters after 2 receives.
payments = app.queue(
    "payments", visibility_timeout=20, dead_letter=payments_dlq, max_receive_count=2
)
# SP101 (error): 5 s visibility for a 10 s function; SP103: no DLQ.
emails = app.queue("emails", visibility_timeout=5)
failures = app.queue("failures", retention=14 * 86400)
app.silence("queue:failures", "SP103", "not consumed here: an operator reads it")


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


# SP107: 2 retries need ~3 minutes, the event expires after 60 s.
@app.function(timeout=1, max_event_age=60, on_failure=failures)
async def notify(event: Any, context: Any) -> None:
    """Invoked asynchronously; its retries outlast the event."""


# SP108: the route waits 5 s for a function that may run 30 s.
@app.function(timeout=30, on_failure=failures)
async def report(event: Any, context: Any) -> dict[str, str]:
    """Answers GET /report."""
    return {}


app.api.get("/report", handler=report, timeout=5)

# SP109: a Task without Retry on transient errors.
app.state_machine(
    "checkout",
    {
        "StartAt": "Charge",
        "States": {"Charge": {"Type": "Task", "Resource": "charge", "End": True}},
    },
    resources={"charge": lambda e: e},
)

# SP110: `ship` calls the carrier (the shipments mapping limits it), returns does not;
# SP111: `ship` has 2 reserved, the returns mapping has no max_concurrency.
carrier = app.limit("carrier", rate=5, burst=5)
ship_dlq = app.queue("ship-dlq", retention=14 * 86400)
shipments = app.queue("shipments", visibility_timeout=60, dead_letter=ship_dlq, max_receive_count=5)
returns = app.queue("returns", visibility_timeout=60, dead_letter=ship_dlq, max_receive_count=5)


@app.function(timeout=10, concurrency=2)
async def ship(event: Any, context: Any) -> None:
    """Calls the carrier's API."""


app.consume(shipments, ship, limit=carrier, max_concurrency=2)
app.consume(returns, ship)

# SP112: a rule re-publishing to its own bus.
events = app.bus("events")
events.rule("echo", {"source": ["shop"]}, [Target(events)])

# SP113: a poison record would block the shard for the whole retention.
clicks = app.stream("clicks")


@app.function(timeout=10, on_failure=failures)
async def count(event: Any, context: Any) -> None:
    """Consumes clicks."""


app.consume(clicks, count)


# SP114 (error): an async transaction behind a decorator that hides it.
def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator whose wrapper is a plain def."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        return fn(*args)

    return wrapper


@app.transaction
@logged
async def reserve(db: Any, event: Any) -> None:
    """Declared async: it would run outside the transaction (SP115: and the module
    imports ``urllib.request``, see ``fetch_rates``)."""


def fetch_rates() -> bytes:
    """A network call that must not run inside a transaction function."""
    with urllib.request.urlopen("http://127.0.0.1:9/rates") as reply:
        return bytes(reply.read())
