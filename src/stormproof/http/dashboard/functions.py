"""The Functions page: each function's invocations, errors, throttles and duration
percentiles over the last 15 minutes (every process's counts, merged into the store by
the workers' alarm loop: ``activity/<app>/fn/<function>``), its concurrency in use vs
reserved; each event-source mapping with what it consumed and a durable enable/disable
switch (confirmed, CSRF-checked, audited) that every consumer obeys within a second."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stormproof.core import activity
from stormproof.errors import InvalidAttribute
from stormproof.functions import mapping_switch
from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import age, esc, form, link, page, sparkline, table, url
from stormproof.storage import browse_ops

if TYPE_CHECKING:
    from stormproof.app import App

WINDOW = activity.KEPT * activity.BUCKET  # seconds the counts cover
POINTS = 30  # sparkline buckets: the last 5 minutes


async def activity_of(app: App, kind: str) -> dict[str, Any]:
    """Every stored activity record of one kind (``fn`` or ``queue``): name -> record."""
    prefix = f"activity/{app.name}/{kind}/"
    return {r.key[len(prefix) :]: json.loads(r.value) for r in await app.store.list_states(prefix)}


async def queue_sparks(app: App) -> dict[str, str]:
    """Queue -> the SVG sparkline of messages its mappings consumed, 10 s a point."""
    now = await app.store.now()
    seconds = POINTS * activity.BUCKET
    return {
        name: sparkline(activity.series(rec, now, POINTS), seconds=seconds)
        for name, rec in (await activity_of(app, "queue")).items()
    }


def _rate(errors: int, invocations: int) -> str:
    return f"{100.0 * errors / invocations:.1f}%" if invocations else "–"


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"≤{seconds * 1000:g} ms"


async def function_stats(app: App) -> list[dict[str, Any]]:
    """Each declared function: counts of the last 15 minutes and slots leased now."""
    stored = await activity_of(app, "fn")
    leased = await app.store.run(browse_ops.function_slots)
    out = []
    for f in app.functions:
        t = activity.totals(stored.get(f.name))
        out.append(
            {
                "name": f.name,
                "invocations": t[0],
                "errors": t[1],
                "throttles": t[2],
                "error_rate": _rate(t[1], t[0]),
                "p50": activity.percentile(t, 0.5),
                "p90": activity.percentile(t, 0.9),
                "p99": activity.percentile(t, 0.99),
                "leased": leased.get(f.name, 0),
                "reserved": f.concurrency,
                "timeout": f.timeout,
            }
        )
    return out


def _concurrency(s: dict[str, Any]) -> str:
    if s["reserved"] is None:
        return "unreserved"
    return f"{s['leased']} of {s['reserved']}"


async def mapping_rows(app: App, guard: Guard) -> list[list[str]]:
    """Each mapping: queue, function, batch size, state, consumed, the switch."""
    flags = await mapping_switch.flags(app.store, app.name)
    consumed = await activity_of(app, "queue")
    rows = []
    for m in app.functions.mappings:
        on = m.enabled and flags.get(m.id, True)
        state = "enabled" if on else ("disabled" if m.enabled else "disabled (declared)")
        switch = (
            ""
            if not m.enabled
            else form(
                url("mappings", m.id, "enabled"),
                guard.csrf,
                f'<input type="hidden" name="enabled" value="{"false" if on else "true"}">',
                "Disable" if on else "Enable",
                confirm=f"{'Disable' if on else 'Enable'} mapping {m.id}?",
            )
        )
        cls = "class:" if on else "class:alert"
        rows.append(
            [
                cls,
                esc(m.id),
                link(url("queues", m.queue), m.queue),
                esc(m.function.name),
                esc(m.batch_size),
                esc(state),
                esc(activity.totals(consumed.get(m.queue))[0]),
                switch,
            ]
        )
    return rows


_FUNCTION_COLUMNS = (
    "function",
    "invocations",
    "errors",
    "error rate",
    "throttles",
    "p50",
    "p90",
    "p99",
    "concurrency in use",
    "timeout (s)",
)
_MAPPING_COLUMNS = (
    "mapping",
    "queue",
    "function",
    "batch size",
    "state",
    "messages consumed",
    "switch",
)


async def functions_page(app: App, guard: Guard, request: Request) -> Response:
    """Functions with their recent activity; mappings with their switch."""
    cells = [
        [
            "class:alert" if s["errors"] else "class:",
            esc(s["name"]),
            esc(s["invocations"]),
            esc(s["errors"]),
            esc(s["error_rate"]),
            esc(s["throttles"]),
            esc(_ms(s["p50"])),
            esc(_ms(s["p90"])),
            esc(_ms(s["p99"])),
            esc(_concurrency(s)),
            esc(s["timeout"]),
        ]
        for s in await function_stats(app)
    ]
    body = (
        f"<p>counts of the last {esc(age(WINDOW))} from every worker (merged each second);"
        " durations are bucket upper bounds</p>"
        f'<section aria-labelledby="h-fn"><h2 id="h-fn">Functions</h2>'
        f"{table(_FUNCTION_COLUMNS, cells)}</section>"
        f'<section aria-labelledby="h-esm"><h2 id="h-esm">Event-source mappings</h2>'
        f"{table(_MAPPING_COLUMNS, await mapping_rows(app, guard))}</section>"
    )
    return page("Functions", body)


async def set_mapping(app: App, guard: Guard, request: Request) -> Response:
    """Enable or disable a declared mapping (a durable flag every consumer obeys)."""
    mapping_id = request.path_params["id"]
    data = await guard.write_form(request)
    wanted = str(data.get("enabled", ""))
    if wanted not in ("true", "false"):
        raise InvalidAttribute("enabled", wanted, "true or false")
    if mapping_id not in {m.id for m in app.functions.mappings if m.enabled}:
        raise LookupError(f"no enabled-by-declaration mapping {mapping_id!r}")
    await guard.record(
        request, "enable" if wanted == "true" else "disable", f"mapping {mapping_id}"
    )
    await mapping_switch.set_enabled(app.store, app.name, mapping_id, wanted == "true")
    return RedirectResponse(url("functions"), 303)
