"""An execution's distributed Map runs: each run's child executions, counted by status
and listed (newest first, 200 at most) with links, as the Step Functions console's Map Run
page shows them. A child execution links back to its run's parent."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from stormproof.http.dashboard.html import esc, link, table, url

if TYPE_CHECKING:
    from stormproof.app import App

#: Children listed per Map run (the counts above the list cover only these).
SHOWN = 200


def run_arns(history: list[dict[str, Any]]) -> list[str]:
    """The Map Run ARNs an execution's history started, in order."""
    found = []
    for event in history:
        if event.get("type") == "MapRunStarted":
            arn = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")
            if arn and arn not in found:
                found.append(str(arn))
    return found


async def map_run_sections(app: App, history: list[dict[str, Any]]) -> str:
    """One section per Map run of this execution, with its children."""
    sections = []
    for arn in run_arns(history):
        children = await app.list_executions(limit=SHOWN, map_run=arn)
        counts = Counter(c.status for c in children)
        summary = " · ".join(f"{esc(s.lower())} <b>{n}</b>" for s, n in sorted(counts.items()))
        rows = [
            [
                link(url("executions", c.arn), c.name),
                f'<span class="status-{esc(c.status.lower())}">{esc(c.status)}</span>',
                esc(c.error),
            ]
            for c in children
        ]
        sections.append(
            f"<section><h2>Map run</h2><p><code>{esc(arn)}</code></p>"
            f"<p>{summary or 'no children yet'}</p>"
            + table(["child execution", "status", "error"], rows)
            + "</section>"
        )
    return "".join(sections)
