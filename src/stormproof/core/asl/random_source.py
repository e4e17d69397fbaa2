"""The random source the interpreter is given (never one it creates for itself).

``random.Random`` satisfies it; tests pass a seeded one so runs repeat exactly.
"""

from __future__ import annotations

from typing import Protocol


class RandomSource(Protocol):
    """The two draws the interpreter needs: a float in [0, 1) and random bits."""

    def random(self) -> float:
        """A float uniformly drawn from [0, 1)."""
        ...

    def getrandbits(self, k: int, /) -> int:
        """An integer with ``k`` random bits."""
        ...
