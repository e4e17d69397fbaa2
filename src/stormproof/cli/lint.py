"""``stormproof lint APP``: preflight checks of an app's definitions (``core.lint`` rules)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from stormproof.app import App
from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.output import json_option
from stormproof.core.lint import ERROR
from stormproof.lint import lint_app


@main.command("lint")
@click.argument("app_spec", metavar="APP")
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


def print_at_start(app: App) -> bool:
    """Print the findings as ``stormproof worker`` and ``dev`` start (stderr); True when one
    is an error."""
    findings = lint_app(app)
    for f in findings:
        click.echo(f"lint {f.code} {f.severity} {f.object}: {f.message}; fix: {f.fix}", err=True)
    return any(f.severity == ERROR for f in findings)
