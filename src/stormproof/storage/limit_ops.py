"""Global rate limits in the store: one atomic grant of tokens (a unit-of-work operation).

A limit key is a state record ``limit/<name>/<key>`` whose value is ``{"tats": [...]}``,
one theoretical arrival time per rate (:mod:`stormproof.core.bucket`). :class:`TakeTokens`
grants up to ``want`` tokens in one step that no concurrent taker can interleave with, so
contending processes never lose a compare-and-set and retry (under contention most of
them used to, and the limit under-delivered):

* on PostgreSQL, one statement (``limit_take``) locks the row, does the GCRA arithmetic
  of :func:`stormproof.core.bucket.grant_all` in SQL and writes the new TATs only when it
  grants something, returning the tokens granted and, when refused, the wait;
* on SQLite, the program reads, decides with :func:`~stormproof.core.bucket.grant_all`
  and writes inside the single writer's transaction (``BEGIN IMMEDIATE`` also serialises
  other processes sharing the file), which is just as atomic.

A refused take writes nothing. The first take of a key creates its record (on PostgreSQL
an insert that a concurrent creator may win, then the grant is taken again).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.core import bucket
from stormproof.core.bucket import Rate
from stormproof.storage.base import EntryStatus, OpResult
from stormproof.storage.program import Dialect, Program, Row, Stmt


def decode_tats(value: str | None, rates: int) -> list[float]:
    """The TATs of a stored value; zeros when there is none or the rates changed."""
    tats = json.loads(value)["tats"] if value is not None else []
    return [float(t) for t in tats] if len(tats) == rates else [0.0] * rates


def encode_tats(tats: Sequence[float]) -> str:
    """A state value (the form ``limit_take`` writes on PostgreSQL, too)."""
    return json.dumps({"tats": list(tats)})


@dataclass(frozen=True)
class TakeTokens:
    """Grant up to ``want`` tokens of every rate of ``key`` at time ``now``.

    The result's values are ``[granted, retry_after]``: ``granted`` may be 0 (refused,
    nothing written), then ``retry_after`` is the seconds until one token is available.
    """

    key: str
    rates: Sequence[Rate]
    want: int
    now: float

    def program(self, dialect: Dialect) -> Program[OpResult]:
        """One statement on PostgreSQL; read, decide, write on SQLite."""
        if dialect.name == "postgres":
            for _ in range(2):  # a second try only if a concurrent creator won the insert
                rows = yield Stmt("limit_take", self._params())
                granted, found, wait = rows[0]
                if found:
                    return _result(int(granted), float(wait or 0.0))
                created = yield from self._create()
                if created is not None:
                    return created
            return _result(0, 0.0)  # cannot happen: the row exists after a lost insert
        rows = yield Stmt("state_get", {"key": self.key})
        return (yield from self._decide(rows))

    def _params(self) -> dict[str, object]:
        return {
            "key": self.key,
            "t": self.now,
            "want": self.want,
            "ivs": [r.interval for r in self.rates],
            "bursts": [r.burst for r in self.rates],
            "eps": bucket.EPSILON,
        }

    def _decide(self, rows: list[Row]) -> Program[OpResult]:
        """Grant from the record read in this transaction (SQLite: nobody can interleave)."""
        value = str(rows[0][2]) if rows else None
        tats = decode_tats(value, len(self.rates))
        n, new, wait = bucket.grant_all(tats, self.now, self.rates, self.want)
        if n == 0:
            return _result(0, wait)
        if rows:
            params = {"key": self.key, "value": encode_tats(new), "expected": int(rows[0][1])}
            yield Stmt("cas_update", params)
        else:
            yield Stmt("cas_insert", {"key": self.key, "value": encode_tats(new)})
        return _result(n, 0.0)

    def _create(self) -> Program[OpResult | None]:
        """Insert the first record of a key with this grant; None if another won."""
        n, new, wait = bucket.grant_all([0.0] * len(self.rates), self.now, self.rates, self.want)
        if n == 0:
            return _result(0, wait)
        rows = yield Stmt("cas_insert", {"key": self.key, "value": encode_tats(new)})
        return _result(n, 0.0) if rows else None

    def is_stale(self, result: OpResult) -> bool:
        """A grant holds no lease."""
        return False


def _result(granted: int, retry_after: float) -> OpResult:
    return OpResult([EntryStatus.OK], [granted, retry_after])
