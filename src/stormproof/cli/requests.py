"""``stormproof requests show ID``: one front-door request's record, from the store."""

from __future__ import annotations

from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, json_option, print_fields
from stormproof.errors import RequestNotFound
from stormproof.storage.request_ops import RequestRecord, key_of


@main.group("requests", cls=OneLineGroup)
def requests() -> None:
    """Front-door requests (what GET /requests/{id} answers, and where the work went)."""


@requests.command("show")
@click.argument("request_id", metavar="ID")
@json_option
@click.pass_context
def show(ctx: click.Context, request_id: str, as_json: bool) -> None:
    """State, route, times, target, result or error and callback URL of request ID."""

    async def work(app: App) -> RequestRecord:
        found = await app.store.get_state(key_of(request_id))
        if found is None:
            raise RequestNotFound(f"no request {request_id!r} (unknown, or past its retention)")
        return RequestRecord.from_json(found.value)

    record = run(ctx, work)
    fields: dict[str, Any] = {**record.answer(), "route": record.route, "target": record.target}
    if record.callback_url:
        fields["callback_url"] = record.callback_url
    if as_json:
        emit_json(fields)
    else:
        print_fields(fields)
