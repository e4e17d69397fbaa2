"""Event-pattern search limits (core/patterns/match.py, wildcard.py): absence in an array
no choice constrains, the consistency search's budget, and the complexity estimate's
state budget."""

from __future__ import annotations

from typing import Any

from stormproof.core.patterns import compile_pattern
from stormproof.core.patterns.wildcard import complexity, parse_wildcard

ENVELOPE = {
    "id": "1",
    "account": "1",
    "source": "s",
    "time": "2026-01-01T00:00:00Z",
    "region": "r",
    "detail-type": "t",
    "version": "0",
    "resources": [],
}


def matches(pattern: Any, detail: Any) -> bool:
    return compile_pattern({"detail": pattern}).matches({**ENVELOPE, "detail": detail})


def test_absence_fails_on_a_leaf_in_an_array_no_other_condition_constrains() -> None:
    pattern = {"a": {"x": [1]}, "b": {"y": [{"exists": False}]}}
    assert not matches(pattern, {"a": [{"x": 1}], "b": [{"y": 1}, {"z": 1}]})
    assert matches(pattern, {"a": [{"x": 1}], "b": [{"z": 1}]})


def test_a_search_past_its_budget_reports_no_match() -> None:
    # x, y and z must hold in one element of b; y and z never do together, and trying
    # every pairing (400 x 400) costs more than the search's budget.
    elements = [
        {"x": 1, "y": 1, "z": 0} if i % 2 == 0 else {"x": 1, "y": 0, "z": 1} for i in range(800)
    ]
    pattern = {"a": {"b": {"x": [1], "y": [1], "z": [1]}}}
    assert not matches(pattern, {"a": [{"b": elements}]})
    assert matches(pattern, {"a": [{"b": [*elements[:4], {"x": 1, "y": 1, "z": 1}]}]})


def wildcards(count: int, length: int) -> list[str]:
    """``count`` wildcards ``c*ddd...`` sharing no character: states add up, scores do not."""
    out, code = [], 0x4E00
    for _ in range(count):
        out.append(chr(code) + "*" + "".join(chr(code + 1 + j) for j in range(length)))
        code += length + 1
    return out


def test_the_complexity_estimate_gives_up_past_its_state_budget() -> None:
    assert complexity([parse_wildcard(w) for w in wildcards(150, 110)]) == 3
    assert complexity([parse_wildcard(w) for w in wildcards(200, 110)]) == 0
