"""The Requests page: one front-door request followed through its hops — the route that
accepted it, where its work went (a queue message, an async invocation, a bus event or a
state-machine execution, with a link to each), its outcome and its webhook deliveries."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard.html import esc, field, link, page, pretty, table, url
from stormproof.storage.request_ops import (
    WEBHOOK_DLQ,
    WEBHOOK_QUEUE,
    RequestRecord,
    is_request_id,
    key_of,
)

if TYPE_CHECKING:
    from stormproof.app import App


async def lookup_page(app: App, request: Request) -> Response:
    """A search box for a request id (``?id=`` jumps to that request)."""
    wanted = request.query_params.get("id", "").strip()
    if wanted:
        if not is_request_id(wanted):
            raise InvalidAttribute("id", wanted, "a request id: req_ and 32 hex digits")
        return RedirectResponse(url("requests", wanted), 303)
    box = field("id", "Request id (from the 202 answer or a log line)")
    body = f'<form method="get" role="search">{box}<button>Find</button></form>'
    return page("Requests", body)


async def request_page(app: App, request: Request) -> Response:
    """One request: facts, the hops its work took, its outcome."""
    request_id = request.path_params["id"]
    stored = await app.store.get_state(key_of(request_id))
    if stored is None:
        raise LookupError(f"no request {request_id!r} (unknown, or past its retention)")
    record = RequestRecord.from_json(stored.value)
    facts = [
        ["state", f'<span class="status-{esc(record.state)}">{esc(record.state)}</span>'],
        ["route", esc(f"POST {record.route}")],
        ["accepted", esc(_iso(record.created))],
        ["last change", esc(_iso(record.updated))],
        ["callback", esc(record.callback_url or "none")],
        ["trace", _trace(record.trace)],
    ]
    hops = [["front door", esc(f"POST {record.route}"), "stored, answered 202"]]
    hops.append(await _work_hop(app, record.target, request_id))
    if record.callback_url:
        hops.append(_webhook_hop(request_id))
    outcome = ""
    if record.state == "succeeded":
        outcome = "<h2>Result</h2>" + pretty(record.result)
    elif record.state == "failed":
        outcome = "<h2>Error</h2>" + pretty(record.error)
    body = (
        table(["", ""], facts) + "<h2>Hops</h2>" + table(["hop", "where", "status"], hops) + outcome
    )
    return page(f"Request {request_id}", body)


async def _work_hop(app: App, target: dict[str, Any], request_id: str) -> list[str]:
    kind, name = str(target.get("kind", "?")), str(target.get("name", "?"))
    if kind == "machine" and target.get("execution_arn"):
        arn = str(target["execution_arn"])
        info = await app.describe_execution(arn)
        where = link(url("executions", arn), f"execution of {name}")
        return ["state machine", where, esc(info.status)]
    if kind == "bus":
        where = f"{link(url('buses'), f'bus {name}')}, event {esc(target.get('event_id'))}"
        return ["event bus", where, "published (deliveries per matching rule)"]
    queue = name if kind == "queue" else app.functions.get(name).queue_name
    label = f"queue {name}" if kind == "queue" else f"async invocation of {name}"
    return [kind, _search(queue, request_id, label), "message id in the attributes"]


def _webhook_hop(request_id: str) -> list[str]:
    pending = _search(WEBHOOK_QUEUE, request_id, "deliveries waiting")
    failed = _search(WEBHOOK_DLQ, request_id, "deliveries given up")
    return ["webhook", f"{pending} · {failed}", "signed POST to the callback URL"]


def _search(queue: str, request_id: str, label: str) -> str:
    return link(url("queues", queue) + "?" + urlencode({"q": request_id}), label)


TRACE_URL_ENV = "STORMPROOF_TRACE_URL"


def _trace(traceparent: str | None) -> str:
    """The request's trace id, linked to the trace viewer when ``STORMPROOF_TRACE_URL``
    (``https://jaeger.example/trace/{trace_id}``) says where the spans are exported."""
    if not traceparent:
        return "none (no traceparent header and tracing off)"
    parts = traceparent.split("-")
    trace_id = parts[1] if len(parts) == 4 else traceparent
    template = os.environ.get(TRACE_URL_ENV, "")
    if "{trace_id}" not in template:
        return f"<code>{esc(trace_id)}</code>"
    href = template.replace("{trace_id}", quote(trace_id, safe=""))
    if not href.startswith(("http://", "https://")):
        return f"<code>{esc(trace_id)}</code>"
    return f'<a href="{esc(href)}"><code>{esc(trace_id)}</code></a> (spans in the trace viewer)'


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
