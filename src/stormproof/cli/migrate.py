"""``stormproof migrate``: create the store's schema or bring it up to date.

Opening a store applies its pending numbered migrations (under a lock on PostgreSQL), so
this command opens the store and reports; running it again changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


async def _opened(app: App) -> str:
    return app.store_url


@main.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_context
def migrate(ctx: click.Context, as_json: bool) -> None:
    """Create or upgrade the store's schema (migrations apply when a store opens)."""
    url = redact(run(ctx, _opened))
    if as_json:
        emit_json({"store": url, "schema": "up to date"})
    else:
        click.echo(f"store: {url}")
        click.echo("schema up to date")
