"""The SQL of each dialect, read from ``sql/<dialect>/``: named queries and migrations."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NOW = {
    "sqlite": ":now",
    # One clock for every host: the database's, unless the store was given a clock.
    "postgres": "COALESCE(%(now)s::float8, EXTRACT(EPOCH FROM now())::float8)",
}
_NAME_RE = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_MIGRATION_RE = re.compile(r"^(\d{4})_\w+\.sql$")


def _read(dialect: str, *parts: str) -> str:
    node = resources.files("stormproof.storage").joinpath("sql", dialect, *parts)
    return node.read_text(encoding="utf-8")


def _parts(dialect: str, stem: str) -> list[str]:
    """``<stem>.sql`` then every ``<stem>_<feature>.sql``, so features add SQL in files of
    their own."""
    folder = resources.files("stormproof.storage").joinpath("sql", dialect)
    names = sorted(e.name for e in folder.iterdir() if e.name.startswith(f"{stem}_"))
    extra = [_read(dialect, n) for n in names if n.endswith(".sql")]
    return [_read(dialect, f"{stem}.sql"), *extra]


@cache
def queries(dialect: str) -> dict[str, str]:
    """Every named statement of a dialect, with ``{now}`` expanded."""
    text = "\n".join(_parts(dialect, "queries"))
    pieces = _NAME_RE.split(text)
    out: dict[str, str] = {}
    for name, body in zip(pieces[1::2], pieces[2::2], strict=True):
        lines = [ln for ln in body.strip().splitlines() if not ln.lstrip().startswith("--")]
        if name in out:
            raise ValueError(f"statement {name!r} is defined twice for {dialect}")
        out[name] = "\n".join(lines).strip().rstrip(";").replace("{now}", _NOW[dialect])
    return out


@cache
def migrations(dialect: str) -> list[tuple[int, str]]:
    """Numbered migrations ``(version, sql)`` in order."""
    folder = resources.files("stormproof.storage").joinpath("sql", dialect, "migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema(dialect: str) -> str:
    """The declared current schema (a test checks the migrations produce exactly this)."""
    return "\n".join(_parts(dialect, "schema"))


def statements(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' in literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
