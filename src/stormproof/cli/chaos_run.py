"""``stormproof chaos run EXPERIMENT --app APP``: a chaos experiment and its report.

The command object :data:`run` joins the ``chaos`` group of cli/chaos.py (fault injection).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from stormproof.app import App
from stormproof.chaos import Fault
from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.options import app_store_option
from stormproof.experiments import Faults, Runner, load_experiment
from stormproof.experiments import report as reporting
from stormproof.experiments.schedule import plan_lines


def chaos_faults(app: App) -> Faults:
    """The injector: dependency and worker-process faults here, every other target through
    ``app.chaos`` (the faults every process of the app obeys)."""

    async def inject(fault: dict[str, Any]) -> str:
        # The dict as it is: app.chaos builds the Fault (the file was checked at load).
        return str(await app.chaos.inject(fault))

    async def stop(fault_id: str | None) -> None:
        await app.chaos.stop(fault_id)

    return Faults(inject, stop)


def _validate_faults(exp_faults: list[dict[str, Any]]) -> None:
    """Check the faults with the chaos package's own rules before anything runs, so that
    ``--dry-run`` reports them (the experiment runner's own ``dependency:`` and
    ``process:`` targets excepted)."""
    for f in exp_faults:
        if not str(f["target"]).startswith(("dependency:", "process:")):
            Fault.from_dict(f)


@click.command("run")
@click.argument("experiment", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--app",
    "app_spec",
    metavar="APP",
    default=None,
    help="The app as module:attribute (required unless --dry-run).",
)
@app_store_option
@click.option(
    "--dry-run", is_flag=True, help="Validate the file and print the plan; inject nothing."
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for report.md, report.json and the plot [default: chaos-report/NAME].",
)
@click.option(
    "--plot",
    type=click.Choice(["png", "terminal", "none"]),
    default="png",
    show_default=True,
    help="PNG (matplotlib), a terminal chart (plotext), or none.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(0.001, 1.0),
    default=1.0,
    show_default=True,
    help="Multiply every time in the file (a short run of a long experiment).",
)
@click.pass_context
def run(
    ctx: click.Context,
    experiment: str,
    app_spec: str | None,
    store: str | None,
    dry_run: bool,
    report_dir: str | None,
    plot: str,
    time_scale: float,
) -> None:
    """Run a chaos experiment: steady state, load, faults, recovery, report.

    Exits 0 when the hypothesis held, 1 when it failed, 2 when the steady state did not
    hold before any fault, 130 when interrupted (faults are rolled back in every case).
    """
    exp = load_experiment(experiment, time_scale=time_scale)
    _validate_faults([s.fault for s in exp.faults])
    if dry_run:
        for line in plan_lines(exp):
            click.echo(line)
        click.echo("dry run: nothing injected")
        return
    if app_spec is None:
        raise click.UsageError("--app APP is required (module:attribute) unless --dry-run")
    app = load_app(app_spec, store or store_url(ctx))
    runner = Runner(exp, app, app_spec=app_spec, faults=chaos_faults(app), say=click.echo)
    outcome = asyncio.run(runner.run())
    folder = Path(report_dir or Path("chaos-report") / Path(experiment).stem)
    written = reporting.write(reporting.build(runner), folder, plot)
    rec = outcome.reconciliation
    if rec is not None:
        click.echo(
            f"sent {rec.sent}  processed {rec.processed}  dead-lettered {rec.dead_lettered}"
            f"  lost {rec.lost}  duplicated {rec.duplicated}"
        )
    click.echo("report: " + ", ".join(str(p) for p in written))
    ctx.exit(reporting.exit_code(outcome))


def _join_chaos_group() -> None:
    """Add :data:`run` to the ``chaos`` group of cli/chaos.py (imported before this module:
    the package imports its modules in name order)."""
    group = main.commands["chaos"]
    assert isinstance(group, click.Group)
    group.add_command(run)


_join_chaos_group()
