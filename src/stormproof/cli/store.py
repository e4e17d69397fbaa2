"""Which store a command works on, and whether it must already exist.

Only commands that create something (``queues create``, ``migrate``; a worker or an app
when it opens) may create a store. Every other command reads or changes what is already
stored, so on a SQLite URL whose file is missing it stops with ``no store at <path>``
instead of creating an empty file (and its folders) and reporting that nothing is there.
A PostgreSQL database cannot be created by opening it; its schema is checked on open.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from stormproof import config
from stormproof.cli.output import CliError


def resolved_url(ctx: click.Context) -> str:
    """The store URL a command uses: --store, else STORMPROOF_STORE, else the default."""
    root = ctx.find_root()
    return (root.obj or {}).get("store") or config.from_env().store


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (made absolute), or None for other URLs."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.path == "/":
        return None  # not SQLite, or malformed: opening the store reports it
    return Path(parts.path[1:]).absolute()


def require_existing(url: str) -> None:
    """Refuse a SQLite URL whose file does not exist (nothing is created)."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise CliError(
            f"no store at {path} (run 'stormproof migrate' or start the app first)"
            f" [store: {redact(url)}]"
        )


def not_found(ctx: click.Context, message: str) -> CliError:
    """A "does not exist" error that names the store searched."""
    return CliError(f"{message} [store: {redact(resolved_url(ctx))}]")
