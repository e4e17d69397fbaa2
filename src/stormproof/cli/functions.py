"""``stormproof functions ...``: an app's functions, their mappings, and invoking them.

Functions are Python code, so these commands take the APP (``module:attribute``, as
``stormproof worker`` does). ``ls`` and ``mappings`` read the app's declarations and the
store's queues (in flight: async invocations or mapped messages being handled now);
``invoke`` runs a function in this process, or with ``--async`` stores the event for a
worker to run with retries and destinations.
"""

from __future__ import annotations

import json
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, load_app, main, run
from stormproof.cli.options import app_argument
from stormproof.cli.output import (
    BadUsage,
    CliError,
    OneLineGroup,
    duration,
    json_option,
    print_table,
)
from stormproof.cli.store import resolved_url
from stormproof.errors import FunctionError, QueueDoesNotExist
from stormproof.functions import Function
from stormproof.functions.mappings import EventSourceMapping


@main.group("functions", cls=OneLineGroup)
def functions() -> None:
    """An app's functions and event-source mappings: list, invoke (APP is module:attribute)."""


def _app(ctx: click.Context, spec: str) -> App:
    return load_app(spec, resolved_url(ctx))


async def _in_flight(app: App, queue: str) -> int | None:
    try:
        return (await (await app.get_queue(queue)).stats()).in_flight
    except QueueDoesNotExist:
        return None


def _destination(dest: Any) -> str | None:
    return None if dest is None else str(getattr(dest, "name", dest))


def function_json(fn: Function, in_flight: int | None, in_use: int = 0) -> dict[str, Any]:
    """A function's settings (durations in seconds), its async invocations in flight and
    its reserved-concurrency slots leased now, by every process (``concurrencyInUse``)."""
    return {
        "name": fn.name,
        "functionArn": fn.arn,
        "timeout": fn.timeout,
        "reservedConcurrency": fn.concurrency,
        "isolation": fn.isolation,
        "maximumRetryAttempts": fn.policy.max_retry_attempts,
        "maximumEventAge": fn.policy.max_event_age,
        "onSuccess": _destination(fn.on_success),
        "onFailure": _destination(fn.on_failure),
        "asyncInFlight": in_flight,
        "concurrencyInUse": in_use,
    }


def mapping_json(
    mapping: EventSourceMapping, in_flight: int | None, in_use: int = 0
) -> dict[str, Any]:
    """An event-source mapping's settings, the queue's messages in flight and the
    maximum-concurrency slots leased now (``concurrencyInUse``)."""
    return {
        "id": mapping.id,
        "queue": mapping.queue,
        "function": mapping.function.name,
        "batchSize": mapping.batch_size,
        "batchWindow": mapping.batch_window,
        "maximumConcurrency": mapping.max_concurrency,
        "reportBatchItemFailures": mapping.report_batch_item_failures,
        "filtered": mapping.filter is not None,
        "enabled": mapping.enabled,
        "inFlight": in_flight,
        "concurrencyInUse": in_use,
    }


@functions.command("ls")
@app_argument
@json_option
@click.pass_context
def ls(ctx: click.Context, app_spec: str, as_json: bool) -> None:
    """List APP's functions: timeout, reserved concurrency, async retries, in flight."""

    async def work(app: App) -> list[dict[str, Any]]:
        used = await app.store.slots_in_use()
        return [
            function_json(fn, await _in_flight(app, fn.queue_name), used.get(f"fn:{fn.name}", 0))
            for fn in app.functions
        ]

    rows = run(ctx, work, _app(ctx, app_spec))
    if as_json:
        emit_json(rows)
        return
    print_table(
        [
            "function",
            "timeout",
            "reserved",
            "in use",
            "isolation",
            "retries",
            "max age",
            "in flight",
        ],
        [
            [
                r["name"],
                duration(r["timeout"]),
                r["reservedConcurrency"] or "unreserved",
                r["concurrencyInUse"] if r["reservedConcurrency"] is not None else "-",
                r["isolation"],
                r["maximumRetryAttempts"],
                duration(r["maximumEventAge"]),
                r["asyncInFlight"],
            ]
            for r in rows
        ],
    )


@functions.command("mappings")
@app_argument
@json_option
@click.pass_context
def mappings(ctx: click.Context, app_spec: str, as_json: bool) -> None:
    """List APP's event-source mappings with the queue's messages in flight now."""

    async def work(app: App) -> list[dict[str, Any]]:
        used = await app.store.slots_in_use()
        return [
            mapping_json(m, await _in_flight(app, m.queue), used.get(f"esm:{m.id}", 0))
            for m in app.functions.mappings
        ]

    rows = run(ctx, work, _app(ctx, app_spec))
    if as_json:
        emit_json(rows)
        return
    print_table(
        [
            "queue",
            "function",
            "batch",
            "window",
            "max concurrency",
            "in use",
            "enabled",
            "in flight",
        ],
        [
            [
                r["queue"],
                r["function"],
                r["batchSize"],
                duration(r["batchWindow"]),
                r["maximumConcurrency"] or "-",
                r["concurrencyInUse"],
                r["enabled"],
                r["inFlight"],
            ]
            for r in rows
        ],
    )


def _payload(text: str | None) -> Any:
    if text is None:
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadUsage(f"--payload is not JSON: {exc}") from None


@functions.command("invoke")
@app_argument
@click.argument("name")
@click.option("--payload", metavar="JSON", help="The event (JSON; default {}).")
@click.option("--async", "is_async", is_flag=True, help="Store it for a worker (retries).")
@json_option
@click.pass_context
def invoke(
    ctx: click.Context,
    app_spec: str,
    name: str,
    payload: str | None,
    is_async: bool,
    as_json: bool,
) -> None:
    """Run function NAME of APP here and print its result (--async: print the request id)."""
    event = _payload(payload)

    async def work(app: App) -> Any:
        try:
            fn = app.functions.get(name)
        except LookupError as exc:
            raise CliError(f"{exc} in {app_spec}") from None
        if is_async:
            return {"requestId": await fn.invoke_async(event)}
        try:
            return {"result": await fn.invoke(event)}
        except FunctionError as exc:
            raise CliError(f"function {name!r} failed: {exc}") from None

    out = run(ctx, work, _app(ctx, app_spec), create=True)
    if as_json:
        emit_json(out)
    elif "requestId" in out:
        click.echo(out["requestId"])
    else:
        click.echo(json.dumps(out["result"], default=str))
