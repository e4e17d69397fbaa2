"""The report of a run: ``report.json`` (everything, for machines and tests), ``report.md``
(the summary table, the hypothesis, the reconciliation) and the plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stormproof.experiments.runner import Outcome, Runner, injected_dicts
from stormproof.experiments.schedule import windows
from stormproof.experiments.timeline import peak_to_mean, series


def build(runner: Runner) -> dict[str, Any]:
    """The report as one JSON-able dict."""
    out, exp = runner.outcome, runner.exp
    end = max(out.ended_at, exp.duration)
    ser = series(runner.timeline, runner.ledger, runner.traffic, exp.sample_interval, end)
    stopped = out.rolled_back_at
    spans = windows([inj for inj, _ in out.injected], stopped)
    peaks = {k: peak_to_mean(v) for k, v in ser["dependency_retries"].items()}
    return {
        "title": exp.title,
        "status": out.status,
        "hypothesis_holds": out.holds,
        "stop_reason": out.stop_reason,
        "steady_state_before": [o.to_dict() for o in out.before],
        "steady_state_after": [o.to_dict() for o in out.after],
        "recovered_in": out.recovered_in,
        "rolled_back_at": out.rolled_back_at,
        "reconciliation": out.reconciliation.to_dict() if out.reconciliation else None,
        "send_errors": runner.traffic.send_errors,
        "faults": injected_dicts(out),
        "fault_windows": [{"start": s, "end": e, "label": label} for s, e, label in spans],
        "dependency_peak_to_mean": peaks,
        "killed_pids": list(getattr(runner.faults, "killed", [])),
        "errors": out.errors,
        "timeline": {
            "sample_t": runner.timeline.t,
            "queue_depth": runner.timeline.depth,
            "breaker_state": runner.timeline.breakers,
            **ser,
        },
    }


def markdown(report: dict[str, Any]) -> str:
    """``report.md``: the summary a person reads first."""
    verdict = "holds" if report["hypothesis_holds"] else "**FAILED**"
    lines = [f"# {report['title']}", "", f"Hypothesis {verdict} (status: {report['status']})."]
    if report["stop_reason"]:
        lines += ["", f"Stopped: {report['stop_reason']}"]
    lines += ["", "| probe | before | after |", "|---|---|---|"]
    after = {o["probe"]: o for o in report["steady_state_after"]}
    for o in report["steady_state_before"]:
        a = after.pop(o["probe"], None)
        lines.append(f"| {o['probe']} | {_cell(o)} | {_cell(a)} |")
    lines += [f"| {name} | | {_cell(a)} |" for name, a in after.items()]
    rec = report["reconciliation"] or {}
    header = "| sent | processed | dead-lettered | lost | duplicated |"
    lines += ["", "## Reconciliation", "", header, "|---:|---:|---:|---:|---:|"]
    cells = [rec.get(k, "") for k in ("sent", "processed", "dead_lettered", "lost", "duplicated")]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if rec.get("dead_lettered_healthy"):
        lines.append(
            f"\nDead-lettered healthy records (not poison): {rec['dead_lettered_healthy']}"
        )
    lines += ["", "## Faults", ""]
    lines += [
        f"- t={f['offset']:g} s: {f['action']} on `{f['target']}` for {f['duration']:g} s"
        for f in report["faults"]
    ] or ["- none"]
    for name, ratio in report["dependency_peak_to_mean"].items():
        lines.append(f"\nRetries to dependency `{name}` per interval: peak/mean = {ratio}")
    if report["recovered_in"] is not None:
        lines.append(f"\nRecovered {report['recovered_in']:g} s after the roll-back.")
    if report["errors"]:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in report["errors"][:20]]
    lines += ["", "![plot](plot.png)", ""]
    return "\n".join(lines)


def _cell(o: dict[str, Any] | None) -> str:
    if o is None:
        return ""
    return f"{o['value']:g} {'ok' if o['ok'] else 'BREACHED'}"


def write(report: dict[str, Any], folder: Path, plot: str) -> list[Path]:
    """Write report.json, report.md and the plot (``png``, ``terminal`` or ``none``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json", folder / "report.md"]
    paths[0].write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    if plot != "png":
        text = text.replace("![plot](plot.png)\n", "")
    paths[1].write_text(text)
    if plot != "none":
        from stormproof.experiments import plot as plotting

        paths.append(plotting.draw(report, folder, plot))
    return paths


def exit_code(outcome: Outcome) -> int:
    """0 when the hypothesis held; 1 when it failed; 2 when the steady state was not there
    to begin with; 130 when interrupted."""
    return {"passed": 0, "aborted": 2, "interrupted": 130}.get(outcome.status, 1)
