"""The root command group and what every command shares: the store option, app loading,
running a coroutine, JSON or table output, and one-line errors with a non-zero exit."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from stormproof.app import App
from stormproof.cli.output import RootGroup, echo_error
from stormproof.cli.store import redact, require_existing, resolved_url
from stormproof.errors import StormproofError

T = TypeVar("T")


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    None, "--version", "-V", package_name="stormproof", message="stormproof %(version)s"
)
@click.option(
    "--store",
    envvar="STORMPROOF_STORE",
    default=None,
    help="Store URL (sqlite:///path.db or postgresql://...); default: STORMPROOF_STORE "
    "or sqlite:///.stormproof/stormproof.db",
)
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """stormproof: durable queues, functions, event bus and state machines."""
    ctx.obj = {"store": store}


def store_url(ctx: click.Context) -> str | None:
    """The --store given to the root command (or None for the default)."""
    root = ctx.find_root()
    return (root.obj or {}).get("store")


def load_app(spec: str, store: str | None) -> App:
    """Import ``module:attribute`` (as uvicorn takes it) and return the App."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise click.UsageError(f"APP must be module:attribute, got {spec!r}")
    sys.path.insert(0, ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.UsageError(f"cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attr, None)
    if not isinstance(app, App):
        raise click.UsageError(f"{spec!r} is not a stormproof.App")
    if store:
        app.store_url = store
    return app


def run(
    ctx: click.Context,
    work: Callable[[App], Awaitable[T]],
    app: App | None = None,
    *,
    create: bool = False,
) -> T:
    """Open an app (by default an empty one on the --store URL), run ``work``, close it.

    Unless ``create`` (for commands that create something), a SQLite store must already
    exist: see :mod:`stormproof.cli.store`. A StormproofError becomes a one-line error
    message and exit code 1; a "does not exist" one names the store searched.
    """
    url = app.store_url if app is not None else resolved_url(ctx)
    if not create:
        require_existing(url)

    async def _go() -> T:
        the_app = app or App("cli", url)
        async with the_app:
            return await work(the_app)

    try:
        return asyncio.run(_go())
    except StormproofError as exc:
        where = f" [store: {redact(url)}]" if isinstance(exc, LookupError) else ""
        echo_error(f"{exc}{where}")
        sys.exit(1)


def emit_json(value: Any) -> None:
    """Print machine-readable output."""
    click.echo(json.dumps(value, indent=2, default=str))
