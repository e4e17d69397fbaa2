"""An execution's graph drawn from its definition, as SVG, each state coloured by status.

Layout: states in layers by breadth-first distance from ``StartAt`` along every transition
(``Next``, ``Default``, ``Choices[].Next``, ``Catch[].Next``); one row per layer. The top
level only: a Parallel's branches and a Map's iterator are drawn as their one state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stormproof.http.dashboard.html import esc

COLOURS = {
    "succeeded": "#1a7f37",
    "failed": "#cf222e",
    "running": "#0969da",
    "caught": "#9a6700",
    "not reached": "#6e7781",
}
_W, _H, _GAP_X, _GAP_Y = 170, 40, 30, 50
_FAILS = ("Failed", "TimedOut", "Aborted")


def transitions(state: Mapping[str, Any]) -> list[str]:
    """The states one state can go to."""
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in state.get("Choices", ()) if isinstance(c, Mapping)]
    out += [c.get("Next") for c in state.get("Catch", ()) if isinstance(c, Mapping)]
    return [n for n in out if isinstance(n, str)]


def statuses(definition: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each top-level state's status from the execution's history events."""
    states = definition.get("States", {})
    status = {name: "not reached" for name in states}
    current: str | None = None
    failed_in: set[str] = set()
    for event in history:
        kind = str(event.get("type", ""))
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        name = details.get("name") if isinstance(details, Mapping) else None
        if kind.endswith("StateEntered") and name in status:
            current, status[name] = name, "running"
        elif kind.endswith("StateExited") and name in status:
            status[name] = "caught" if name in failed_in else "succeeded"
            current = None
        elif kind.startswith("Execution") and kind.endswith(_FAILS):
            if current is not None:
                status[current] = "failed"
        elif kind.endswith(_FAILS) and current is not None:
            failed_in.add(current)
    return status


def layers(definition: Mapping[str, Any]) -> list[list[str]]:
    """States grouped by distance from ``StartAt``; unreachable ones last."""
    states = definition.get("States", {})
    start = definition.get("StartAt")
    seen: dict[str, int] = {}
    frontier: list[str] = [start] if isinstance(start, str) and start in states else []
    depth = 0
    while frontier:
        nxt = []
        for name in frontier:
            if name not in seen:
                seen[name] = depth
                nxt += [n for n in transitions(states[name]) if n in states and n not in seen]
        frontier, depth = nxt, depth + 1
    for name in states:
        seen.setdefault(name, depth)
    rows: list[list[str]] = [[] for _ in range(max(seen.values(), default=-1) + 1)]
    for name, d in seen.items():
        rows[d].append(name)
    return rows


def svg(definition: Mapping[str, Any], status: Mapping[str, str]) -> str:
    """The graph as an inline SVG element (names escaped)."""
    rows = layers(definition)
    width = max((len(r) for r in rows), default=1) * (_W + _GAP_X) + _GAP_X
    height = len(rows) * (_H + _GAP_Y) + _GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for y, row in enumerate(rows):
        offset = (width - len(row) * (_W + _GAP_X) + _GAP_X) / 2
        for x, name in enumerate(row):
            pos[name] = (offset + x * (_W + _GAP_X), _GAP_Y / 2 + y * (_H + _GAP_Y))
    states = definition.get("States", {})
    parts = [_edge(pos[a], pos[b]) for a in states for b in transitions(states[a]) if b in pos]
    parts += [_node(name, pos[name], status.get(name, "not reached")) for name in states]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
        f'aria-label="execution graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}"><defs><marker id="arrow" viewBox="0 0 10 10" '
        'refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#57606a"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


def _edge(a: tuple[float, float], b: tuple[float, float]) -> str:
    x1, y1 = a[0] + _W / 2, a[1] + _H
    x2, y2 = b[0] + _W / 2, b[1]
    if b[1] <= a[1]:  # a loop back up: leave from the side
        x1, y1, x2, y2 = a[0] + _W, a[1] + _H / 2, b[0] + _W, b[1] + _H / 2
    return (
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#57606a" '
        'stroke-width="1.5" marker-end="url(#arrow)"/>'
    )


def _node(name: str, at: tuple[float, float], status: str) -> str:
    colour = COLOURS.get(status, COLOURS["not reached"])
    label = name if len(name) <= 22 else name[:21] + "…"
    return (
        f'<g class="state" data-state="{esc(name)}" data-status="{esc(status)}">'
        f"<title>{esc(name)}: {esc(status)}</title>"
        f'<rect x="{at[0]:.0f}" y="{at[1]:.0f}" width="{_W}" height="{_H}" rx="6" '
        f'fill="{colour}"/><text x="{at[0] + _W / 2:.0f}" y="{at[1] + _H / 2 + 5:.0f}" '
        f'text-anchor="middle" fill="#ffffff">{esc(label)}</text></g>'
    )
