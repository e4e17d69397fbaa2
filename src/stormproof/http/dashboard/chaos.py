"""The Chaos page: the app's active faults (``app.chaos``), each with a stop button, the
kill switch that removes them all, and the past experiment reports kept in a directory.

Stopping is a write like any other: confirmed in the browser, CSRF-checked and audited.
The reports directory is ``STORMPROOF_CHAOS_REPORTS`` (default ``chaos-reports`` under the
working directory); only plain files directly in it are listed and served.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import esc, form, link, page, table, url

if TYPE_CHECKING:
    from stormproof.app import App

REPORTS_ENV = "STORMPROOF_CHAOS_REPORTS"
TEXT = {".json", ".md", ".txt", ".yaml", ".yml", ".csv", ".log"}
IMAGES = {".png": "image/png", ".svg": "image/svg+xml"}
MAX_REPORTS = 200  # newest first
MAX_TEXT = 1024 * 1024  # a report larger than this is offered as a download only


def reports_dir() -> Path:
    """Where experiment reports are kept (``STORMPROOF_CHAOS_REPORTS``)."""
    return Path(os.environ.get(REPORTS_ENV) or "chaos-reports")


def _when(at: float | None) -> str:
    return "–" if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _what(fault: dict[str, Any]) -> str:
    """The action with its parameter: ``error ConnectionError``, ``latency 0.5``."""
    detail = fault.get("error") or fault.get("status") or fault.get("latency")
    return f"{fault.get('action')} {detail}" if detail is not None else str(fault.get("action"))


def _fault_cells(guard: Guard, info: dict[str, Any]) -> list[str]:
    f, fid = info["fault"], info["id"]
    stop = form(
        url("chaos", "faults", fid, "stop"),
        guard.csrf,
        "",
        "Stop",
        confirm=f"Stop fault {fid} ({f.get('target')})?",
    )
    state = "active" if info.get("active", True) else "starting"
    cls = "class:alert" if state == "active" else "class:"
    return [
        cls,
        esc(fid),
        esc(f.get("name") or "–"),
        esc(f.get("target")),
        esc(_what(f)),
        esc(f.get("probability")),
        esc(f.get("selection")),
        esc(state),
        esc(_when(info.get("starts_at"))),
        esc(_when(info.get("expires_at"))),
        esc(info.get("injected", 0)),
        stop,
    ]


def _reports() -> list[list[str]]:
    folder = reports_dir()
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [
        [
            link(url("chaos", "reports", p.name), p.name),
            esc(p.stat().st_size),
            esc(_when(p.stat().st_mtime)),
        ]
        for p in files[:MAX_REPORTS]
    ]


async def chaos_page(app: App, guard: Guard, request: Request) -> Response:
    """Active faults with stop buttons and the kill switch; past experiment reports."""
    faults = await app.chaos.faults()
    headers = [
        "id",
        "name",
        "target",
        "action",
        "probability",
        "selection",
        "state",
        "starts",
        "expires",
        "calls hit",
        "stop",
    ]
    kill = form(
        url("chaos", "stop"),
        guard.csrf,
        "",
        "Stop every fault (kill switch)",
        confirm="Stop every fault of this app now?",
    )
    obeying = "on" if app.chaos.enabled else "off (this process obeys no fault)"
    body = (
        f"<p>chaos in this process: <b>{esc(obeying)}</b>; workers with chaos on obey a "
        "fault within 1 s of its injection and stop within 1 s of its removal</p>"
        f'<section aria-labelledby="h-af"><h2 id="h-af">Active faults</h2>'
        f"{table(headers, [_fault_cells(guard, i) for i in faults])}{kill}</section>"
        f'<section aria-labelledby="h-rep"><h2 id="h-rep">Experiment reports</h2>'
        f"<p>from <code>{esc(reports_dir())}</code></p>"
        f"{table(['report', 'bytes', 'written'], _reports())}</section>"
    )
    return page("Chaos", body)


async def stop_one(app: App, guard: Guard, request: Request) -> Response:
    """Stop one fault."""
    fid = request.path_params["id"]
    await guard.write_form(request)
    await guard.record(request, "stop fault", fid)
    if not await app.chaos.stop(fid):
        raise LookupError(f"no active fault {fid!r} (expired or stopped already)")
    return RedirectResponse(url("chaos"), 303)


async def stop_all(app: App, guard: Guard, request: Request) -> Response:
    """The kill switch: stop every fault of the app."""
    await guard.write_form(request)
    await guard.record(request, "stop every fault", f"app {app.name}")
    await app.chaos.stop()
    return RedirectResponse(url("chaos"), 303)


async def report(request: Request) -> Response:
    """One report: text shown escaped, an image as itself, anything else downloaded."""
    name = request.path_params["name"]
    folder = reports_dir().resolve()
    path = (folder / name).resolve()
    if "/" in name or name.startswith(".") or path.parent != folder or not path.is_file():
        raise LookupError(f"no report {name!r} in {folder}")
    suffix = path.suffix.lower()
    if suffix in IMAGES:
        return FileResponse(path, media_type=IMAGES[suffix])
    if suffix not in TEXT or path.stat().st_size > MAX_TEXT:
        return FileResponse(path, filename=path.name)
    text = path.read_text("utf-8", "replace")
    return page(f"Report {name}", f"<pre>{esc(text)}</pre>")
