"""The PostgreSQL store URL: libpq's parameters, plus ``schema`` and ``deadline`` of ours.

Every query parameter is checked here, so a typo (``?sslmod=require``) is an error naming
it, not a driver traceback, and the schema name is matched in full (a trailing newline
is refused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from stormproof.errors import InvalidAttribute

_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,40}")
_OURS = ("schema", "deadline")
DEFAULT_DEADLINE = 20.0  # seconds a call keeps retrying an unreachable database


@dataclass(frozen=True)
class PgUrl:
    """A parsed store URL: the libpq connection string, the schema, the call deadline."""

    dsn: str
    schema: str
    deadline: float


def _libpq_keywords() -> set[str]:
    return {o.keyword.decode() for o in psycopg.pq.Conninfo.get_defaults()}


def parse_url(url: str) -> PgUrl:
    """Validate ``url`` and separate our parameters from libpq's."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    known = _libpq_keywords() | set(_OURS)
    unknown = sorted(set(query) - known)
    if unknown:
        raise InvalidAttribute(
            "store", url, f"libpq connection parameters, schema or deadline (not {unknown[0]!r})"
        )
    schema = query.pop("schema", "public")
    if not _SCHEMA_RE.fullmatch(schema):
        raise InvalidAttribute("store", url, "schema of lower-case letters, digits and '_'")
    deadline = _deadline(url, query.pop("deadline", str(DEFAULT_DEADLINE)))
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
    return PgUrl(dsn, schema, deadline)


def _deadline(url: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise InvalidAttribute("store", url, "deadline=SECONDS with 0 < SECONDS <= 86400")
    return value


def split_url(url: str) -> tuple[str, str]:
    """Separate our parameters from the libpq connection string: (dsn, schema)."""
    parsed = parse_url(url)
    return parsed.dsn, parsed.schema


def one_line(exc: BaseException) -> str:
    """A driver message on one line (libpq adds a tab-indented hint line)."""
    return " ".join(str(exc).split())
