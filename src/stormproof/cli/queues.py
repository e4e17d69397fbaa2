"""``stormproof queues ...``: create, inspect and operate durable queues from the shell.

Human-readable output (rich tables) by default, ``--json`` for machines; bad input gives
a one-line error and a non-zero exit code (see :mod:`stormproof.cli.output`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import IO, Any, TypeVar

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.ndjson import Failure, Sent, read_entries, send_all
from stormproof.cli.output import (
    BadUsage,
    CliError,
    OneLineGroup,
    age,
    duration,
    json_option,
    print_fields,
    print_message,
    print_table,
)
from stormproof.cli.shapes import camel_keys, message_json, queue_json
from stormproof.cli.store import redact, resolved_url
from stormproof.errors import RedriveTaskNotFound
from stormproof.queues.messages import Message
from stormproof.queues.queue import Queue

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_MIN_LINES = 100


# --- the group and queue administration ---------------------------------------------


@main.group("queues", cls=OneLineGroup)
def queues() -> None:
    """Durable queues: create, send, receive, inspect, purge."""


def attribute_options(create: bool) -> Callable[[F], F]:
    """The queue attribute options of ``create`` (with ``--fifo``) and ``update``."""
    options = [
        click.option("--visibility-timeout", type=float, help="Seconds (0-43200; default 30)."),
        click.option("--delay", type=float, help="Delay of new messages (0-900 s; default 0)."),
        click.option("--max-message-size", type=int, help="Bytes (1024-1048576; default 1 MiB)."),
        click.option("--retention", type=float, help="Seconds (60-1209600; default 4 days)."),
        click.option("--receive-wait", type=float, help="Default long poll (0-20 s; default 0)."),
        click.option("--dead-letter", metavar="QUEUE", help="Dead-letter queue (must exist)."),
        click.option("--no-dead-letter", is_flag=True, help="Remove the dead-letter queue."),
        click.option("--max-receive-count", type=int, help="Receives before dead-lettering."),
        click.option(
            "--redrive-allow",
            metavar="allowAll|denyAll|Q1,Q2",
            help="Which source queues may use this queue as their dead-letter queue.",
        ),
        click.option(
            "--content-based-deduplication/--no-content-based-deduplication",
            default=None,
            help="FIFO: de-duplicate by a SHA-256 of the body.",
        ),
        click.option("--dedup-window", type=float, help="De-duplication window (default 300 s)."),
        json_option,
    ]
    if create:
        options.insert(
            0, click.option("--fifo/--no-fifo", default=None, help="Default: a .fifo name is FIFO.")
        )

    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def attribute_changes(options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes actually passed on the command line, as keyword arguments."""
    changes = {k: v for k, v in options.items() if k != "no_dead_letter" and v is not None}
    if options.get("no_dead_letter"):
        if "dead_letter" in changes:
            raise BadUsage("--dead-letter and --no-dead-letter exclude each other")
        changes["dead_letter"] = None
    allow = changes.get("redrive_allow")
    if allow is not None and allow not in ("allowAll", "denyAll"):
        changes["redrive_allow"] = [q.strip() for q in allow.split(",") if q.strip()]
    return changes


DURATIONS = ("visibilityTimeout", "delay", "retention", "receiveWait", "dedupWindow")
INTERNAL_PREFIXES = ("_bus-", "_fn-", "_sfn-")
"""Queues stormproof creates for buses, functions and state machines (shown with --all)."""


def show_attributes(name: str, queue: Queue, as_json: bool) -> None:
    """Print a queue's stored attributes (durations for humans as ``14 d``)."""
    attrs = queue_json(name, queue)
    if as_json:
        emit_json(attrs)
    else:
        print_fields({k: duration(v) if k in DURATIONS else v for k, v in attrs.items()})


@queues.command("create")
@click.argument("name")
@attribute_options(create=True)
@click.pass_context
def create(ctx: click.Context, /, name: str, as_json: bool, **options: Any) -> None:
    """Create queue NAME (on an existing queue: change only the attributes given)."""
    changes = attribute_changes(options)
    queue = run(ctx, lambda app: app.create_queue(name, **changes), create=True)
    show_attributes(name, queue, as_json)


@queues.command("update")
@click.argument("name")
@attribute_options(create=False)
@click.pass_context
def update(ctx: click.Context, /, name: str, as_json: bool, **options: Any) -> None:
    """Change attributes of queue NAME (FIFO-ness cannot change); prints all of them."""
    changes = attribute_changes(options)
    queue = run(ctx, lambda app: app.update_queue(name, **changes))
    show_attributes(name, queue, as_json)


def is_internal(name: str) -> bool:
    """A queue stormproof made for a bus, function or state machine."""
    return name.startswith(INTERNAL_PREFIXES)


async def _listing(app: App, show_all: bool) -> list[dict[str, Any]]:
    rows = []
    for name in await app.list_queues():
        if is_internal(name) and not show_all:
            continue
        try:
            queue = await app.get_queue(name)
            stats = await queue.stats()
        except RedriveTaskNotFound:
            continue  # deleted meanwhile
        rows.append({"name": name, "fifo": queue.fifo, **camel_keys(asdict(stats))})
    return rows


@queues.command("ls")
@click.option("--all", "show_all", is_flag=True, help="Also stormproof's internal queues.")
@json_option
@click.pass_context
def ls(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List queues with their message counts and the age of their oldest message.

    Internal queues (``_bus-*``, ``_fn-*``, ``_sfn-*``) are shown only with --all.
    """
    rows = run(ctx, lambda app: _listing(app, show_all))
    if as_json:
        emit_json(rows)
        return
    click.echo(f"store: {redact(resolved_url(ctx))}")
    if not rows:
        click.echo("no queues" + ("" if show_all else " (--all shows internal ones)"))
        return
    columns = ["name", "fifo", "visible", "in flight", "delayed", "oldest age"]
    keys = ["name", "fifo", "visible", "inFlight", "delayed"]
    print_table(columns, [[*(r[k] for k in keys), age(r["oldestAge"])] for r in rows])


@queues.command("stats")
@click.argument("name")
@json_option
@click.pass_context
def stats(ctx: click.Context, name: str, as_json: bool) -> None:
    """Visible, in-flight and delayed counts of queue NAME and its oldest message's age."""

    async def work(app: App) -> dict[str, Any]:
        found = await (await app.get_queue(name)).stats()
        return camel_keys({**asdict(found), "total": found.total})

    counts = run(ctx, work)
    if as_json:
        emit_json({"name": name, **counts})
    else:
        print_fields({**counts, "oldestAge": age(counts["oldestAge"])}, title=name)


@queues.command("purge")
@click.argument("name")
@json_option
@click.pass_context
def purge(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete every message of queue NAME (delayed and in-flight ones too)."""

    async def work(app: App) -> int:
        return await (await app.get_queue(name)).purge()

    count = run(ctx, work)
    if as_json:
        emit_json({"name": name, "purged": count})
    else:
        click.echo(f"purged {count} messages from {name}")


@queues.command("delete-queue")
@click.argument("name")
@click.option(
    "--force", is_flag=True, help="If NAME is a dead-letter queue, first detach its sources."
)
@json_option
@click.pass_context
def delete_queue(ctx: click.Context, name: str, force: bool, as_json: bool) -> None:
    """Delete queue NAME and all its messages.

    Refused while NAME is another queue's dead-letter queue (the error names the source
    queues); --force first removes the dead-letter setting from those queues.
    """
    run(ctx, lambda app: app.delete_queue(name, force=force))
    if as_json:
        emit_json({"name": name, "deleted": True})
    else:
        click.echo(f"deleted queue {name}")


# --- messages -----------------------------------------------------------------------


def parse_attributes(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as String message attributes."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadUsage(f"--attribute expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


@queues.command("send")
@click.argument("name")
@click.argument("body")
@click.option("--delay", type=float, help="Seconds before the message is visible (0-900).")
@click.option("--group-id", help="FIFO message group (required on FIFO queues).")
@click.option("--dedup-id", help="FIFO de-duplication id.")
@click.option("--attribute", "attributes", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@json_option
@click.pass_context
def send(
    ctx: click.Context,
    name: str,
    body: str,
    delay: float | None,
    group_id: str | None,
    dedup_id: str | None,
    attributes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Send BODY (a string; - reads it from stdin) to queue NAME; prints the message id."""
    attrs = parse_attributes(attributes) or None
    text = body if body != "-" else sys.stdin.read().removesuffix("\n")

    async def work(app: App) -> str:
        queue = await app.get_queue(name)
        return await queue.send(text, delay, attrs, group_id, dedup_id)

    message_id = run(ctx, work)
    if as_json:
        emit_json({"messageId": message_id})
    else:
        click.echo(message_id)


@queues.command("receive")
@click.argument("name")
@click.option("--max", "max_messages", type=int, default=1, show_default=True, help="1-10.")
@click.option("--visibility-timeout", type=float, help="Seconds (default: the queue's).")
@click.option("--wait", type=float, help="Long-poll seconds, 0-20 (default: the queue's).")
@click.option("--delete", is_flag=True, help="Delete the messages once received.")
@json_option
@click.pass_context
def receive(
    ctx: click.Context,
    name: str,
    max_messages: int,
    visibility_timeout: float | None,
    wait: float | None,
    delete: bool,
    as_json: bool,
) -> None:
    """Receive (lease) up to --max messages from queue NAME."""

    async def work(app: App) -> list[Message]:
        queue = await app.get_queue(name)
        got = await queue.receive(max_messages, visibility_timeout, wait)
        if delete and got:
            entries = [
                {"id": str(i), "receipt_handle": m.receipt_handle} for i, m in enumerate(got)
            ]
            result = await queue.delete_batch(entries)
            if result.failed:
                raise CliError(f"received but could not delete: {result.failed[0][2]}")
        return got

    messages = [message_json(m) for m in run(ctx, work)]
    if as_json:
        emit_json(messages)
    elif not messages:
        click.echo("no messages")
    for msg in [] if as_json else messages:
        print_message(msg)


@queues.command("delete")
@click.argument("name")
@click.argument("receipt_handle")
@json_option
@click.pass_context
def delete(ctx: click.Context, name: str, receipt_handle: str, as_json: bool) -> None:
    """Delete a received message of queue NAME by its RECEIPT_HANDLE."""

    async def work(app: App) -> None:
        await (await app.get_queue(name)).delete(receipt_handle)

    run(ctx, work)
    if as_json:
        emit_json({"deleted": True})
    else:
        click.echo("deleted")


@queues.command("change-visibility")
@click.argument("name")
@click.argument("receipt_handle")
@click.argument("seconds", type=float)
@json_option
@click.pass_context
def change_visibility(
    ctx: click.Context, name: str, receipt_handle: str, seconds: float, as_json: bool
) -> None:
    """Hide a received message for SECONDS from now (0 makes it visible again)."""

    async def work(app: App) -> None:
        await (await app.get_queue(name)).change_visibility(receipt_handle, seconds)

    run(ctx, work)
    if as_json:
        emit_json({"visibilityTimeout": seconds})
    else:
        click.echo(f"visible again in {seconds:g}s")


# --- send-batch ---------------------------------------------------------------------


@queues.command("send-batch")
@click.argument("name")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@json_option
@click.pass_context
def send_batch(ctx: click.Context, name: str, source: IO[str], as_json: bool) -> None:
    """Send NDJSON lines from SOURCE (a file; - or nothing: stdin), 1,000 per transaction.

    Each line is an object {"body": ..., "delay", "group_id", "dedup_id", "attributes"} or
    any other JSON value, taken as the body. Prints a summary; exit code 1 if any failed.
    """
    count, entries, failed = read_entries(source)
    show = sys.stdout.isatty() or count > PROGRESS_MIN_LINES

    async def work(app: App) -> tuple[list[Sent], list[Failure]]:
        return await send_all(await app.get_queue(name), entries, show)

    sent, send_failed = run(ctx, work)
    failed = sorted(failed + send_failed)
    if as_json:
        emit_json(
            {
                "sent": len(sent),
                "failed": [{"line": n, "code": c, "message": m} for n, c, m in failed],
                "messageIds": {str(n): mid for n, mid in sorted(sent)},
            }
        )
    else:
        click.echo(f"sent {len(sent)} of {len(sent) + len(failed)} messages to {name}")
        if failed:
            print_table(["line", "error", "reason"], failed)
    if failed:
        raise CliError(f"{len(failed)} of {len(sent) + len(failed)} messages failed")
