"""``stormproof serve APP``: the HTTP front door (uvicorn)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys

import click

from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.options import app_argument, app_store_option, host_option, port_option


@main.command("serve")
@app_argument
@app_store_option
@host_option
@port_option(8000)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="uvicorn worker processes (they share the store).",
)
@click.pass_context
def serve(
    ctx: click.Context, app_spec: str, store: str | None, host: str, port: int, workers: int
) -> None:
    """Serve APP's front door (APP is module:attribute) until interrupted."""
    try:
        from stormproof.http.server import serve as run_server
    except ImportError as exc:
        click.echo(f"error: {exc}; install with: pip install 'stormproof[server]'", err=True)
        sys.exit(1)
    app = load_app(app_spec, store or store_url(ctx))
    if not _loopback(host) and app.api.settings.configured_admin_token() is None:
        click.echo(
            "error: refusing to listen beyond loopback without an admin token (set "
            "STORMPROOF_ADMIN_TOKEN or app.api.settings.admin_token)",
            err=True,
        )
        sys.exit(1)
    if workers > 1:
        _serve_workers(app_spec, app.store_url, host, port, workers)
    else:
        run_server(app, host=host, port=port)


def _serve_workers(app_spec: str, store: str, host: str, port: int, workers: int) -> None:
    """Several uvicorn processes on one socket; each builds the app from the environment."""
    import uvicorn

    from stormproof.http import workers as factory

    os.environ[factory.APP_ENV] = app_spec
    os.environ[factory.STORE_ENV] = store
    os.environ.setdefault(factory.CSRF_ENV, secrets.token_urlsafe(32))
    uvicorn.run(
        "stormproof.http.workers:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
