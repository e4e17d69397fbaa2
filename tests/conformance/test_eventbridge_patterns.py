"""Drive every recorded EventBridge event-pattern case through stormproof.patterns.

Cases: ``conformance/eventbridge/patterns.json`` (156) and ``patterns_extra.json`` (20), recorded
against AWS (see the README beside them). Outcome kinds are compared (match, no match, invalid
pattern, invalid event), not message text; where AWS's reason is recorded and ours is meant to
be the same, a separate test compares the reasons too.

A case AWS itself contradicts would be listed in ``DEVIATIONS`` with its reason (and in
docs/deviations/eventbridge-patterns.md) and marked xfail; there are none at present.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stormproof.errors import InvalidEvent, InvalidPattern
from stormproof.patterns import PatternSet, compile
from tests.conformance import VECTORS

CONFORMANCE = VECTORS
FILES = ("patterns.json", "patterns_extra.json")


DEVIATIONS: dict[str, str] = {}
"""Case name -> why AWS's recording is not followed (see docs/deviations)."""

# Reasons that come from AWS's JSON parser (Jackson) rather than the pattern rules.
PARSER_MESSAGES = {"invalid_json_pattern_0", "invalid_json_pattern_1", "invalid_json_pattern_2"}


def _load(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(
        (CONFORMANCE / "eventbridge" / name).read_text(encoding="utf-8")
    )
    return cases


CASES = [case for name in FILES for case in _load(name)]


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case["name"] in DEVIATIONS:
            marks.append(pytest.mark.xfail(reason=DEVIATIONS[case["name"]], strict=True))
        params.append(pytest.param(case, id=case["name"], marks=marks))
    return params


def _pattern(case: dict[str, Any]) -> Any:
    return case.get("pattern_text", case.get("pattern"))


def _event(case: dict[str, Any]) -> Any:
    return case.get("event_text", case.get("event"))


def outcome(case: dict[str, Any]) -> str:
    """What stormproof makes of a case, in the vectors' vocabulary."""
    try:
        pattern = compile(_pattern(case))
    except InvalidPattern:
        return "invalid"
    try:
        return "match" if pattern.matches(_event(case)) else "no_match"
    except InvalidEvent:
        return "invalid_event"


@pytest.mark.parametrize("case", _params())
def test_case(case: dict[str, Any]) -> None:
    assert outcome(case) == case["expected"]


@pytest.mark.parametrize("case", _params())
def test_case_from_wire_text(case: dict[str, Any]) -> None:
    """The exact strings sent to ``TestEventPattern`` give the same outcome."""
    sent = {
        **case,
        "pattern_text": case["sent"]["EventPattern"],
        "event_text": case["sent"]["Event"],
    }
    assert outcome(sent) == case["expected"]


def test_invalid_reasons_read_like_aws() -> None:
    """Our reason equals AWS's first line for every invalid case not decided by its JSON parser."""
    for case in CASES:
        if case["expected"] != "invalid" or case["name"] in PARSER_MESSAGES:
            continue
        with pytest.raises(InvalidPattern) as caught:
            compile(_pattern(case))
        assert str(caught.value) == case["error_message"].split("\n")[0], case["name"]


def test_pattern_set_agrees_with_single_patterns() -> None:
    """All valid cases' patterns in one PatternSet: each event matches exactly its own rules."""
    rules: PatternSet[str] = PatternSet()
    valid = [case for case in CASES if case["expected"] in ("match", "no_match")]
    for case in valid:
        rules.add(case["name"], _pattern(case))
    for case in valid:
        expected = {
            other["name"] for other in valid if compile(_pattern(other)).matches(_event(case))
        }
        assert rules.matching(_event(case)) == expected, case["name"]
        assert (case["name"] in expected) == (case["expected"] == "match")
