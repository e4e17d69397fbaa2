"""``stormproof dev APP``: front door, dashboard and every consumer in one process."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from stormproof.app import App
from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.lint import print_at_start
from stormproof.cli.options import (
    app_argument,
    app_store_option,
    concurrency_option,
    host_option,
    no_lint_option,
    port_option,
)
from stormproof.cli.output import echo_error
from stormproof.cli.store import redact
from stormproof.errors import StormproofError
from stormproof.telemetry import logs

if TYPE_CHECKING:
    from stormproof.http.dev import DevServer


@main.command("dev")
@app_argument
@app_store_option
@host_option
@port_option(8000)
@concurrency_option("Executions at once in this process.")
@no_lint_option
@click.pass_context
def dev(
    ctx: click.Context,
    app_spec: str,
    store: str | None,
    host: str,
    port: int,
    concurrency: int,
    no_lint: bool,
) -> None:
    """Run APP's front door, dashboard and consumers in one process until Ctrl-C.

    For development on the embedded SQLite store; in production run ``stormproof
    serve`` and ``stormproof worker`` (as many as needed) against one store.
    """
    try:
        from stormproof.http.dev import DevServer, route_lines, run_dev
    except ImportError as exc:
        click.echo(f"error: {exc}; install with: pip install 'stormproof[server]'", err=True)
        sys.exit(1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo_error("stormproof dev listens on loopback only; use stormproof serve beyond it")
        sys.exit(2)
    logs.configure(None, "INFO")
    app = load_app(app_spec, store or store_url(ctx))
    if not no_lint and print_at_start(app):
        sys.exit(2)
    server = DevServer(host, port, concurrency)
    _banner(app, server, route_lines(app))
    try:
        asyncio.run(run_dev(app, server))
    except KeyboardInterrupt:
        pass
    except (StormproofError, OSError) as exc:
        echo_error(str(exc))
        sys.exit(1)


def _banner(app: App, server: DevServer, routes: list[str]) -> None:
    base = server.base_url
    click.echo(f"stormproof dev: app {app.name} on {redact(app.store_url)}")
    for line in routes or ["(no routes: app.api.post/get declare them)"]:
        click.echo(f"  {line}")
    click.echo(f"  front door  {base}/   (OpenAPI: {base}/openapi.json)")
    click.echo(f"  dashboard   {base}/ui/")
    click.echo(f"  health      {base}/healthz  {base}/readyz   metrics {base}/metrics")
    click.echo("Ctrl-C stops (running work finishes or is released for redelivery).")
