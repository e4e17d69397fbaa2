"""The ``wildcard`` operator: parsing, a linear matcher and a complexity estimate.

A wildcard pattern is text in which ``*`` stands for any run of characters (zero or more).
``\\*`` is a literal asterisk and ``\\\\`` a literal backslash; any other escape, and two
consecutive ``*``, are invalid (aws/event-ruler ``WildcardParser``).

Matching never uses ``re`` on user input. A pattern with ``k`` stars is split into ``k + 1``
literal segments; the first must be a prefix, the last a suffix, and the middle ones are found
left to right with ``str.find``, each search starting where the previous match ended. Because
``*`` is the only metacharacter, taking the leftmost occurrence of every middle segment is
always safe, so nothing is ever retried: the work is one forward scan of the value.

The complexity estimate reproduces EventBridge's "Rule is too complex" rejection: it is the
largest number of pattern positions that can be alive at once while some input is read, summed
over the wildcard patterns one rule applies to one field (see :func:`complexity`).
"""

from __future__ import annotations

from dataclasses import dataclass

from stormproof.errors import InvalidPattern

MAX_COMPLEXITY = 10
"""Largest accepted :func:`complexity`; calibrated on AWS's recorded accept/reject vectors."""

_STATE_BUDGET = 20_000
"""Subsets of positions explored before the estimate gives up (and accepts the rule)."""


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A parsed wildcard pattern: literal ``segments`` that the stars separate."""

    text: str
    segments: tuple[str, ...]

    @property
    def stars(self) -> int:
        """How many unescaped ``*`` the pattern holds."""
        return len(self.segments) - 1

    def matches(self, value: str) -> bool:
        """Whether ``value`` matches, in one forward pass (no backtracking)."""
        segments = self.segments
        if len(segments) == 1:
            return value == segments[0]
        head, tail = segments[0], segments[-1]
        end = len(value) - len(tail)
        if end < len(head) or not value.startswith(head) or not value.endswith(tail):
            return False
        pos = len(head)
        for middle in segments[1:-1]:
            found = value.find(middle, pos, end)
            if found < 0:
                return False
            pos = found + len(middle)
        return True


def parse_wildcard(text: str) -> Wildcard:
    """Parse ``text`` into a :class:`Wildcard`; raise ``InvalidPattern`` like event-ruler.

    Error positions are byte offsets in the quoted UTF-8 value, as event-ruler reports them
    (so the first character is at position 1).
    """
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "*":
            if i + 1 < len(text) and text[i + 1] == "*":
                raise InvalidPattern(f"Consecutive wildcard characters at pos {_pos(text, i)}")
            segments.append("".join(current))
            current = []
        elif char == "\\":
            if i + 1 < len(text) and text[i + 1] in "*\\":
                current.append(text[i + 1])
                i += 1
            else:
                raise InvalidPattern(f"Invalid escape character at pos {_pos(text, i)}")
        else:
            current.append(char)
        i += 1
    segments.append("".join(current))
    return Wildcard(text, tuple(segments))


def _pos(text: str, index: int) -> int:
    # event-ruler counts UTF-8 bytes of the value with its opening quote.
    return 1 + len(text[:index].encode("utf-8"))


def _tokens(wildcard: Wildcard) -> tuple[str | None, ...]:
    """The pattern as one token per character, ``None`` standing for a star."""
    tokens: list[str | None] = []
    for index, segment in enumerate(wildcard.segments):
        if index:
            tokens.append(None)
        tokens.extend(segment)
    return tuple(tokens)


State = frozenset[tuple[int, int]]


def _close(tokens: list[tuple[str | None, ...]], states: set[tuple[int, int]]) -> State:
    """Add the positions reachable by letting stars match nothing."""
    pending = list(states)
    while pending:
        which, pos = pending.pop()
        toks = tokens[which]
        if pos < len(toks) and toks[pos] is None and (which, pos + 1) not in states:
            states.add((which, pos + 1))
            pending.append((which, pos + 1))
    return frozenset(states)


def _step(tokens: list[tuple[str | None, ...]], state: State, char: str | None) -> State:
    """Positions alive after reading ``char`` (``None``: a character no pattern names)."""
    moved: set[tuple[int, int]] = set()
    for which, pos in state:
        toks = tokens[which]
        if pos < len(toks):
            token = toks[pos]
            if token is None:
                moved.add((which, pos))
            elif token == char:
                moved.add((which, pos + 1))
    return _close(tokens, moved)


def complexity(wildcards: list[Wildcard]) -> int:
    """Most pattern positions alive at once for any input, over ``wildcards`` together.

    A position counts while a match still needs input there (positions followed only by
    stars are already matches). This mirrors event-ruler's ``MachineComplexityEvaluator``
    (the number of wildcard rule prefixes a worst-case value keeps alive) closely enough that
    :data:`MAX_COMPLEXITY` separates the patterns AWS accepted from those it rejected. The
    search stops early once the limit is passed, and gives up (returning 0) after
    :data:`_STATE_BUDGET` subsets: the matcher here is linear whatever the score.
    """
    tokens = [_tokens(w) for w in wildcards]
    live = [_live_length(t) for t in tokens]
    start = _close(tokens, {(which, 0) for which in range(len(tokens))})
    seen = {start}
    pending = [start]
    best = 0
    while pending:
        state = pending.pop()
        # Scores count from the first character on: before it, nothing is alive yet.
        score = 0 if state is start else sum(1 for which, pos in state if pos < live[which])
        if score > MAX_COMPLEXITY:
            return score
        best = max(best, score)
        for char in _next_chars(tokens, state):
            following = _step(tokens, state, char)
            if following not in seen:
                if len(seen) >= _STATE_BUDGET:
                    return 0
                seen.add(following)
                pending.append(following)
    return best


def _live_length(tokens: tuple[str | None, ...]) -> int:
    end = len(tokens)
    while end and tokens[end - 1] is None:
        end -= 1
    return end


def _next_chars(tokens: list[tuple[str | None, ...]], state: State) -> set[str | None]:
    """The characters worth trying from ``state``: those it names, plus one it does not."""
    chars: set[str | None] = {None}
    for which, pos in state:
        toks = tokens[which]
        if pos < len(toks) and toks[pos] is not None:
            chars.add(toks[pos])
    return chars
