"""The wildcard operator: parsing, the linear matcher and the complexity estimate."""

from __future__ import annotations

import time
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.patterns.wildcard import MAX_COMPLEXITY, complexity, parse_wildcard
from stormproof.errors import InvalidPattern


def reference_match(tokens: tuple[str | None, ...], value: str) -> bool:
    """Textbook dynamic programming over (pattern position, value position); None is a star."""

    @cache
    def at(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(value)
        if tokens[i] is None:
            return at(i + 1, j) or (j < len(value) and at(i, j + 1))
        return j < len(value) and value[j] == tokens[i] and at(i + 1, j + 1)

    return at(0, 0)


def tokens_of(text: str) -> tuple[str | None, ...]:
    parsed = parse_wildcard(text)
    out: list[str | None] = []
    for index, segment in enumerate(parsed.segments):
        if index:
            out.append(None)
        out.extend(segment)
    return tuple(out)


def escape(literal: str) -> str:
    return literal.replace("\\", "\\\\").replace("*", "\\*")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("Simple*Service", "SimpleQueueService", True),
        ("Simple*Service", "SimpleService", True),  # a star may match nothing
        ("Simple*Service", "SimpleQueueServices", False),
        ("*", "", True),
        ("", "", True),
        ("", "x", False),
        ("a*b*c", "abc", True),
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "acb", False),
        ("*/dir/*", "dir/init/file", False),
        ("*/init/*", "dir/init/file", True),
        ("ab*ba", "aba", False),  # head and tail may not overlap
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("a\\\\b", "a\\b", True),
        ("*\\**", "x*y", True),
        ("*\\**", "xy", False),
    ],
)
def test_matches(pattern: str, value: str, expected: bool) -> None:
    assert parse_wildcard(pattern).matches(value) is expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("arn:aws:events:us-east-1:**:event-bus/*", "Consecutive wildcard characters at pos 26"),
        ("**", "Consecutive wildcard characters at pos 1"),
        ("a\\b", "Invalid escape character at pos 2"),
        ("trailing\\", "Invalid escape character at pos 9"),
        ("é\\x", "Invalid escape character at pos 3"),  # positions count UTF-8 bytes
    ],
)
def test_invalid(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        parse_wildcard(pattern)
    assert caught.value.reason == reason


def test_escaped_backslash_then_star_is_a_wildcard() -> None:
    assert parse_wildcard("\\\\*").segments == ("\\", "")


@given(
    st.lists(st.one_of(st.none(), st.text("ab*\\", min_size=1, max_size=3)), max_size=5),
    st.text("ab*\\", max_size=8),
)
def test_matcher_equals_reference(parts: list[str | None], value: str) -> None:
    """Random patterns (None is a star; stars never adjacent) agree with the reference."""
    text, last_was_star = "", False
    for part in parts:
        if part is None and not last_was_star:
            text += "*"
        elif part is not None:
            text += escape(part)
        last_was_star = part is None
    assert parse_wildcard(text).matches(value) == reference_match(tokens_of(text), value)


@given(st.text(max_size=20))
def test_escaped_literal_matches_only_itself(literal: str) -> None:
    parsed = parse_wildcard(escape(literal))
    assert parsed.stars == 0
    assert parsed.matches(literal)


def test_matching_is_linear_on_hostile_input() -> None:
    """A pattern that makes backtracking matchers explode is answered at once."""
    pattern = parse_wildcard("*a" * 5 + "*b")
    value = "a" * 200_000
    start = time.perf_counter()
    assert not pattern.matches(value)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("patterns", "too_complex"),
    [
        (["*:*:*:*:*:event-bus/*"], True),  # AWS rejected (content_wildcard_complex_EXC)
        (["/Users/*/dir/dir/dir/dir/dir/doc.txt"], False),  # AWS accepted
        (["arn:aws:events:us-east-1:*:event-bus/*"], False),
        (["*/init/*", "*/dir/*"], False),
        ([f"*:stack/{name}/*" for name in ("Shared", "App", "Data")], False),
        ([f"*:stack/{name}/*" for name in ("Shared", "App", "Data", "Monitoring")], True),
        ([f"{chr(97 + n)}{n}*" for n in range(20)], False),  # distinct first characters
    ],
)
def test_complexity_separates_what_aws_accepts(patterns: list[str], too_complex: bool) -> None:
    score = complexity([parse_wildcard(p) for p in patterns])
    assert (score > MAX_COMPLEXITY) is too_complex


def test_complexity_is_bounded_in_time() -> None:
    start = time.perf_counter()
    complexity([parse_wildcard(f"x{n}*y{n}z") for n in range(300)])
    complexity([parse_wildcard("a*" + "ab" * 1000)])
    assert time.perf_counter() - start < 2.0
