"""``stormproof lint APP``: preflight checks of an app's definitions (``core.lint`` rules)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict

import click

from stormproof.app import App
from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.options import app_argument
from stormproof.cli.output import json_option
from stormproof.core.lint import ERROR
from stormproof.lint import lint_app

log = logging.getLogger("stormproof.lint")


@main.command("lint")
@app_argument
@json_option
@click.pass_context
def lint(ctx: click.Context, app_spec: str, as_json: bool) -> None:
    """Check APP's definitions before it runs: exit 0 clean, 1 warnings, 2 errors."""
    app = load_app(app_spec, store_url(ctx))
    findings = lint_app(app)
    if as_json:
        click.echo(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for f in findings:
            click.echo(f"{f.code} {f.severity} {f.object}: {f.message}; fix: {f.fix}")
        if not findings:
            click.echo("no findings")
    if any(f.severity == ERROR for f in findings):
        sys.exit(2)
    sys.exit(1 if findings else 0)


def print_at_start(app: App, *, as_logs: bool = False) -> bool:
    """Print the findings as ``stormproof worker`` and ``dev`` start (stderr; ``as_logs``:
    as WARNING log records, so ``--log-format json`` stays JSON lines); True when one is
    an error."""
    findings = lint_app(app)
    for f in findings:
        line = f"lint {f.code} {f.severity} {f.object}: {f.message}; fix: {f.fix}"
        if as_logs:
            fields = {
                "event": "lint.finding",
                "code": f.code,
                "severity": f.severity,
                "object": f.object,
                "app": app.name,
            }
            log.warning("%s", line, extra={"stormproof": fields})
        else:
            click.echo(line, err=True)
    return any(f.severity == ERROR for f in findings)
