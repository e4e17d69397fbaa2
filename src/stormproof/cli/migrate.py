"""``stormproof migrate``: create the store's schema or bring it up to date.

Opening a store applies its pending numbered migrations (under a lock on PostgreSQL), so
this command opens the store and reports; running it again changes nothing.
"""

from __future__ import annotations

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.store import redact


async def _opened(app: App) -> str:
    return app.store_url


@main.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_context
def migrate(ctx: click.Context, as_json: bool) -> None:
    """Create or upgrade the store's schema (migrations apply when a store opens)."""
    url = redact(run(ctx, _opened, create=True))
    if as_json:
        emit_json({"store": url, "schema": "up to date"})
    else:
        click.echo(f"store: {url}")
        click.echo("schema up to date")
