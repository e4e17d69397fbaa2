"""Selecting messages on a dead-letter queue's page and redriving only those.

SQS's StartMessageMoveTask moves a whole DLQ; an operator who has fixed one kind of
failure often wants to send back just the messages it hit and leave the rest for
later. The page lists the messages with a checkbox each, and one POST moves the
selected ones (still visible, so none a consumer holds) to their source queue or to a
named destination, in one transaction: each is moved exactly once or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import esc, field, table, url
from stormproof.storage.browse_ops import StoredMessage

if TYPE_CHECKING:
    from stormproof.app import App

#: Form keys of the checkboxes: ``m:<message id>``.
PREFIX = "m:"
#: At most this many messages per selected redrive (one page of the queue view and more).
MAX_SELECTED = 1000

HEADERS = ["select", "message id", "receives", "state", "body"]


def selectable_table(
    name: str, guard: Guard, rows: list[list[str]], found: Sequence[StoredMessage]
) -> str:
    """The DLQ's message rows with a checkbox each, inside the redrive-selected form."""
    boxed = []
    for row, message in zip(rows, found, strict=True):
        ident = f"sel-{esc(message.message_id)}"
        box = (
            f'<input type="checkbox" id="{ident}" name="{PREFIX}{esc(message.message_id)}" '
            f'aria-label="select {esc(message.message_id)}">'
        )
        boxed.append([box, *row])
    return (
        f'<form method="post" action="{esc(url("queues", name, "move"))}" '
        f'data-confirm="Redrive the selected messages of {esc(name)}?">'
        f'<input type="hidden" name="csrf" value="{esc(guard.csrf)}">'
        + table(HEADERS, boxed)
        + field("destination", "Destination of the selected (empty: their source)")
        + '<button type="submit">Redrive selected</button></form>'
    )


def selected_ids(data: dict[str, str]) -> list[str]:
    """The message ids ticked in a submitted form."""
    ids = [key[len(PREFIX) :] for key in data if key.startswith(PREFIX)]
    if not ids:
        raise InvalidAttribute("selection", 0, "at least one message ticked")
    if len(ids) > MAX_SELECTED:
        raise InvalidAttribute("selection", len(ids), f"at most {MAX_SELECTED} messages")
    return ids


async def move_selected(app: App, guard: Guard, request: Request) -> Response:
    """Move the ticked messages of a DLQ to their source (or the destination typed)."""
    name = request.path_params["name"]
    data = await guard.write_form(request)
    ids = selected_ids(data)
    destination = str(data.get("destination", "")).strip() or None
    if destination is not None:
        await app.get_queue(destination)  # raises (404 page) for a queue that does not exist
    await guard.record(
        request, f"redrive {len(ids)} selected", f"{name} -> {destination or 'sources'}"
    )
    await app.get_queue(name)
    await app.store.move_messages(name, destination, len(ids), ids)
    return RedirectResponse(url("queues", name), 303)
