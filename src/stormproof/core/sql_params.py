"""Named SQL parameters in one style (``:name``) for every store.

SQLite binds ``:name`` itself; psycopg wants ``%(name)s`` and a literal ``%`` doubled.
The translation skips string literals, quoted identifiers, comments and ``::`` casts, so
``'a:b'``, ``"x:y"`` and ``col::text`` stay as written (but for ``%``, doubled everywhere).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""
      (?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<cast>::)
    | :(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<percent>%)
    """,
    re.VERBOSE | re.DOTALL,
)


def pyformat(sql: str) -> str:
    """``sql`` with ``:name`` turned into ``%(name)s`` and ``%`` into ``%%``."""

    def one(match: re.Match[str]) -> str:
        if match.group("name") is not None:
            return f"%({match.group('name')})s"
        if match.group("cast") is not None:
            return "::"
        # psycopg reads placeholders everywhere, literals included: every % is doubled.
        return match.group(0).replace("%", "%%")

    return _TOKEN.sub(one, sql)


def names(sql: str) -> list[str]:
    """The parameter names ``sql`` uses, in order of first use."""
    found: list[str] = []
    for match in _TOKEN.finditer(sql):
        name = match.group("name")
        if name is not None and name not in found:
            found.append(name)
    return found


_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


def controls_transaction(sql: str) -> bool:
    """Whether ``sql`` would begin or end a transaction (a transaction function may not)."""
    return _CONTROL.match(sql) is not None
