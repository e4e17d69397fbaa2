"""The bus page's archives and replays: what each archive holds, every replay with its
progress and a cancel button, and a form that starts a replay (EventBridge's
StartReplay: the archived events of a time window re-emitted through the bus's rules)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.bus.replays import ACTIVE, ReplayStatus
from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import age, esc, field, form, table, url

if TYPE_CHECKING:
    from stormproof.app import App
    from stormproof.bus.bus import Bus


async def archive_section(app: App, guard: Guard, bus: Bus) -> str:
    """Archives of ``bus`` (events held now), its replays and the start-replay form."""
    if not bus.archives:
        return ""
    stats = await app.buses.archive_stats()
    rows = []
    for archive in bus.archives.values():
        held, size = stats.get(archive.name, (0, 0))
        retention = age(archive.retention) if archive.retention else "forever"
        rows.append(
            [
                esc(archive.name),
                esc(archive.pattern_text or "every event"),
                esc(retention),
                esc(held),
                esc(f"{size / 1024:.1f} KiB"),
            ]
        )
    replays = [r for r in await app.buses.replays.list() if r.bus == bus.name]
    return (
        f"<h3>Archives of {esc(bus.name)}</h3>"
        + table(["archive", "pattern", "retention", "events held", "size"], rows)
        + f"<h3>Replays of {esc(bus.name)}</h3>"
        + table(
            ["replay", "archive", "window", "state", "replayed", "cancel"],
            [_replay_row(guard, r) for r in reversed(replays)],
        )
        + _start_form(guard, bus)
    )


def _iso(epoch: float | None) -> str:
    if epoch is None or not math.isfinite(epoch):
        return "–"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _replay_row(guard: Guard, status: ReplayStatus) -> list[str]:
    cancel = ""
    if status.state in ACTIVE:
        cancel = form(
            url("replays", status.name, "cancel"),
            guard.csrf,
            "",
            "Cancel",
            confirm=f"Cancel replay {status.name}?",
        )
    state = esc(status.state) + (
        f" ({esc(status.failure_reason)})" if status.failure_reason else ""
    )
    return [
        esc(status.name),
        esc(status.archive),
        f"{esc(_iso(status.start))} → {esc(_iso(status.end))}",
        f'<span class="state-{esc(status.state.lower())}">{state}</span>',
        f"{status.replayed} / {status.total}",
        cancel,
    ]


def _start_form(guard: Guard, bus: Bus) -> str:
    options = "".join(f"<option>{esc(a)}</option>" for a in bus.archives)
    ident = f"f-archive-{esc(bus.name)}"
    fields = (
        f'<label for="{ident}">Archive</label><select id="{ident}" name="archive">'
        f"{options}</select>"
        + field("start", "From (ISO 8601 UTC)", value=_iso(0.0)[:19])
        + field("end", "To (ISO 8601 UTC, empty: now)")
        + field("name", "Replay name (optional)")
    )
    return form(
        url("buses", bus.name, "replays"),
        guard.csrf,
        fields,
        "Start replay",
        confirm=f"Replay the window's archived events through bus {bus.name}?",
    )


def _when(name: str, text: str, default: float) -> float:
    if not text.strip():
        return default
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidAttribute(name, text, "an ISO 8601 time such as 2026-12-01T10:00:00") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def start_replay(app: App, guard: Guard, request: Request) -> Response:
    """Start a replay of one archive's window through the bus."""
    bus = app.buses.buses.get(request.path_params["name"])
    if bus is None:
        raise LookupError(f"no bus {request.path_params['name']!r}")
    data = await guard.write_form(request)
    start = _when("start", str(data.get("start", "")), 0.0)
    end = _when("end", str(data.get("end", "")), app.clock.now() + 1.0)
    archive = str(data.get("archive", ""))
    await guard.record(request, "start replay", f"bus {bus.name} archive {archive}")
    await bus.start_replay(archive, start, end, name=str(data.get("name", "")).strip() or None)
    return RedirectResponse(url("buses"), 303)


async def cancel_replay(app: App, guard: Guard, request: Request) -> Response:
    """Cancel an active replay (events already re-emitted stay delivered)."""
    name = request.path_params["name"]
    await guard.write_form(request)
    await guard.record(request, "cancel replay", f"replay {name}")
    await app.buses.replays.cancel(name)
    return RedirectResponse(url("buses"), 303)
