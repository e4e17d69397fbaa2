"""The report's plot: throughput, latency percentiles, errors, queue depth and breaker state
over time, fault windows shaded. PNG with matplotlib (Agg: no display needed), or a
terminal chart with plotext (``plot.txt``, also printed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from stormproof.errors import StormproofError


def draw(report: dict[str, Any], folder: Path, kind: str) -> Path:
    """Draw ``report`` into ``folder``; the file written."""
    try:
        return _png(report, folder) if kind == "png" else _terminal(report, folder)
    except ImportError as exc:
        raise StormproofError("plots need pip install 'stormproof[chaos]'") from exc


def _panels(
    report: dict[str, Any],
) -> list[tuple[str, str, dict[str, tuple[list[float], list[float]]]]]:
    tl = report["timeline"]
    t, st = tl["t"], tl["sample_t"]
    rates = {"sent/s": (t, tl["sent"]), "processed/s": (t, tl["throughput"])}
    rates |= {f"calls to {k}/s": (t, v) for k, v in tl["dependency_calls"].items()}
    rates |= {f"retries to {k}/s": (t, v) for k, v in tl["dependency_retries"].items()}
    return [
        ("throughput", "per second", rates),
        ("latency", "seconds", {"p50": (t, tl["p50"]), "p99": (t, tl["p99"])}),
        ("errors", "failed records/s", {"errors/s": (t, tl["errors"])}),
        ("queue depth", "messages", {k: (st, v) for k, v in tl["queue_depth"].items()}),
        (
            "breaker",
            "0 closed, 0.5 half-open, 1 open",
            {k: (st, v) for k, v in tl["breaker_state"].items()},
        ),
    ]


def _drawn(values: list[float]) -> bool:
    return any(not math.isnan(v) for v in values)


def _png(report: dict[str, Any], folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file is the product
    import matplotlib.pyplot as plt

    panels = [p for p in _panels(report) if any(_drawn(ys) for _, ys in p[2].values())]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), sharex=True)
    axes = list(axes) if len(panels) > 1 else [axes]
    for ax, (title, unit, lines) in zip(axes, panels, strict=True):
        for label, (xs, ys) in lines.items():
            ax.plot(xs, ys, label=label, linewidth=1.2, drawstyle="steps-post")
        for w in report["fault_windows"]:
            ax.axvspan(w["start"], w["end"], color="tab:red", alpha=0.12, linewidth=0)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel(unit, fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds since the load started (red: fault windows)")
    verdict = "holds" if report["hypothesis_holds"] else "FAILED"
    fig.suptitle(f"{report['title']}: hypothesis {verdict}", fontsize=11)
    fig.tight_layout()
    path = folder / "plot.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _terminal(report: dict[str, Any], folder: Path) -> Path:
    import plotext  # type: ignore[import-untyped]

    if hasattr(plotext, "clear_figure"):
        return _terminal_v5(report, folder, plotext)
    fig = plotext.figure  # plotext 6: one figure, signals drawn onto it
    spans = ", ".join(f"{w['start']:g}-{w['end']:g} s" for w in report["fault_windows"])
    charts = []
    for title, unit, lines in _panels(report):
        if not any(_drawn(ys) for _, ys in lines.values()):
            continue
        fig.clear.all()
        fig.plot_size(100, 14)
        for label, (xs, ys) in lines.items():
            signal = fig.signal(xs, [0.0 if math.isnan(y) else y for y in ys])  # NaN: a gap
            signal.label(label)
            fig.draw(signal)
        fig.title(f"{title} ({unit}); faults: {spans or 'none'}")
        charts.append(plotext.uncolorize(fig.build()))
    return _save(charts, folder)


def _terminal_v5(report: dict[str, Any], folder: Path, plt: Any) -> Path:
    """The same with plotext 5's module-level API (``clear_figure``, ``plot``, ``build``)."""
    spans = ", ".join(f"{w['start']:g}-{w['end']:g} s" for w in report["fault_windows"])
    charts = []
    for title, unit, lines in _panels(report):
        if not any(_drawn(ys) for _, ys in lines.values()):
            continue
        plt.clear_figure()
        plt.plot_size(100, 14)
        for label, (xs, ys) in lines.items():
            plt.plot(xs, [0.0 if math.isnan(y) else y for y in ys], label=label)
        plt.title(f"{title} ({unit}); faults: {spans or 'none'}")
        charts.append(plt.uncolorize(plt.build()))
    return _save(charts, folder)


def _save(charts: list[str], folder: Path) -> Path:
    text = "\n".join(charts)
    path = folder / "plot.txt"
    path.write_text(text)
    print(text)
    return path
