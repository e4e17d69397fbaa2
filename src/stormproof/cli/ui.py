"""``stormproof ui APP``: the dashboard alone (uvicorn), at http://HOST:PORT/ui/."""

from __future__ import annotations

import os
import sys

import click

from stormproof.cli.base import load_app, main, store_url
from stormproof.cli.options import app_argument, app_store_option, host_option, port_option
from stormproof.cli.serve import _loopback


@main.command("ui")
@app_argument
@app_store_option
@host_option
@port_option(8001)
@click.pass_context
def ui(ctx: click.Context, app_spec: str, store: str | None, host: str, port: int) -> None:
    """Serve APP's dashboard alone (APP is module:attribute) until interrupted.

    Beyond loopback it needs STORMPROOF_ADMIN_TOKEN (every page then asks for it).
    """
    try:
        import uvicorn

        from stormproof.http.dashboard import build
    except ImportError as exc:
        click.echo(f"error: {exc}; install with: pip install 'stormproof[server]'", err=True)
        sys.exit(1)
    if not _loopback(host) and not os.environ.get("STORMPROOF_ADMIN_TOKEN"):
        click.echo(
            "error: refusing to listen beyond loopback without STORMPROOF_ADMIN_TOKEN", err=True
        )
        sys.exit(1)
    app = load_app(app_spec, store or store_url(ctx))
    click.echo(f"dashboard: http://{host}:{port}/ui/")
    # Open dashboard tabs hold event streams: do not wait for them on Ctrl-C.
    uvicorn.run(build(app), host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
