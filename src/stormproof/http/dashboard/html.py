"""HTML building blocks: every piece of user data passes through :func:`esc`.

Plain f-strings rather than a template engine keep the server extra free of new
dependencies; the rule that keeps them safe is that only this module's helpers and
literals in page modules produce markup, and every value goes through ``esc`` first.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from starlette.responses import HTMLResponse

NAV = [
    ("/ui/", "Overview"),
    ("/ui/functions", "Functions"),
    ("/ui/machines", "State machines"),
    ("/ui/buses", "Event bus"),
    ("/ui/breakers", "Breakers"),
    ("/ui/streams", "Streams"),
    ("/ui/alarms", "Alarms"),
    ("/ui/chaos", "Chaos"),
    ("/ui/requests", "Requests"),
    ("/ui/audit", "Audit log"),
]


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def url(*parts: str) -> str:
    """A /ui path with each part percent-encoded (names may hold any character)."""
    return "/ui/" + "/".join(quote(p, safe="") for p in parts)


def link(href: str, text: Any) -> str:
    """An anchor; ``href`` must come from :func:`url`."""
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def pretty(value: Any) -> str:
    """A JSON value (or JSON text) indented, escaped, in a <pre>."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return f"<pre>{esc(value)}</pre>"
    return f"<pre>{esc(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def age(seconds: float | None) -> str:
    """A duration as 4.2s / 3m10s / 2h05m, or a dash."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, body_id: str = "") -> str:
    """A table; cells are already-escaped HTML."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    tbody = rows_html(rows)
    ident = f' id="{esc(body_id)}"' if body_id else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody{ident}>{tbody}</tbody></table>"


def rows_html(rows: Iterable[Sequence[str]]) -> str:
    """Table rows from already-escaped cells (also what live updates send)."""
    out = []
    for row in rows:
        cells, cls = (row[1:], row[0]) if row and row[0].startswith("class:") else (row, "")
        attr = f' class="{esc(cls[6:])}"' if cls else ""
        out.append(f"<tr{attr}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) or '<tr><td colspan="99">none</td></tr>'


def form(action: str, csrf: str, fields: str, button: str, *, confirm: str = "") -> str:
    """A POST form carrying the CSRF token; ``confirm`` asks again in the browser."""
    data = f' data-confirm="{esc(confirm)}"' if confirm else ""
    return (
        f'<form method="post" action="{esc(action)}"{data}>'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">{fields}'
        f'<button type="submit">{esc(button)}</button></form>'
    )


def field(name: str, label: str, *, value: str = "", kind: str = "text", extra: str = "") -> str:
    """A labelled input."""
    ident = f"f-{name}"
    return (
        f'<label for="{ident}">{esc(label)}</label>'
        f'<input id="{ident}" name="{esc(name)}" type="{esc(kind)}" value="{esc(value)}"{extra}>'
    )


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A whole page: navigation, the title and ``body`` (already-escaped HTML)."""
    nav = "".join(f'<li><a href="{h}">{esc(t)}</a></li>' for h, t in NAV)
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)} · stormproof</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/static/dashboard.css">'
        '<script type="module" src="/ui/static/dashboard.js"></script></head>'
        '<body><a class="skip" href="#main">Skip to content</a>'
        '<header><nav aria-label="Main"><span class="brand">stormproof</span>'
        f'<ul>{nav}</ul></nav></header><main id="main" tabindex="-1">'
        f"<h1>{esc(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(text, status, headers={"content-security-policy": CSP})


# No inline script anywhere: data user-controlled can never become code.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"


def sparkline(values: Sequence[int], *, seconds: float, width: int = 90, height: int = 18) -> str:
    """An inline SVG polyline of ``values`` (numbers only, so nothing to escape), labelled
    with their sum for screen readers."""
    top = max(values, default=0) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 1 - v / top * (height - 2):.1f}" for i, v in enumerate(values)
    )
    label = f"{sum(values)} in the last {seconds:g} s"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{label}"><title>{label}</title>'
        f'<polyline points="{points}" fill="none" stroke="currentColor"/></svg>'
    )
