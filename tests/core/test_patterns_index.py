"""PatternSet: the index gives the same answers as a loop over rules, and keeps them on change."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormproof.core.patterns.flatten import Fields, flatten
from stormproof.core.patterns.match import branch_matches
from stormproof.core.patterns.operators import Condition
from stormproof.errors import InvalidEvent, InvalidPattern
from stormproof.patterns import PatternSet, compile

ENVELOPE = {
    "id": "1",
    "account": "123456789012",
    "source": "s",
    "time": "2022-07-13T13:48:01Z",
    "region": "us-east-2",
    "detail-type": "t",
}
PATHS = ["source", "detail.f", "detail.g", "detail.items.k", "detail.items.m"]
STRINGS = ["a", "b", "ab", "A", "Ab", "10.0.0.1", ""]
SCALARS = st.one_of(
    st.sampled_from(STRINGS), st.sampled_from([0, 1, 2.5, -3]), st.booleans(), st.none()
)


def expressions() -> st.SearchStrategy[Any]:
    text = st.sampled_from([s for s in STRINGS if s])
    return st.one_of(
        SCALARS,
        st.builds(lambda s: {"prefix": s}, st.sampled_from(STRINGS)),
        st.builds(lambda s: {"suffix": s}, st.sampled_from(STRINGS)),
        st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, text),
        st.builds(lambda s: {"equals-ignore-case": s}, st.sampled_from(STRINGS)),
        st.builds(lambda s: {"anything-but": s}, st.lists(text, min_size=1, max_size=2)),
        st.builds(lambda s: {"anything-but": {"prefix": s}}, text),
        st.builds(lambda n: {"numeric": [">", n]}, st.sampled_from([-1, 0, 1])),
        st.builds(lambda n: {"numeric": ["=", n]}, st.sampled_from([0, 1, 2.5])),
        st.builds(lambda b: {"exists": b}, st.booleans()),
        st.sampled_from([{"wildcard": "a*"}, {"wildcard": "*b"}, {"cidr": "10.0.0.0/24"}]),
    )


def nest(fields: dict[str, list[Any]]) -> dict[str, Any]:
    """{"detail.items.k": [...]} -> {"detail": {"items": {"k": [...]}}}."""
    root: dict[str, Any] = {}
    for path, values in fields.items():
        node = root
        *parents, leaf = path.split(".")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = values
    return root


CONDITIONS = st.dictionaries(
    st.sampled_from(PATHS), st.lists(expressions(), min_size=1, max_size=3), min_size=1, max_size=3
)
PATTERNS = st.one_of(
    CONDITIONS.map(nest),
    st.tuples(CONDITIONS, CONDITIONS, CONDITIONS).map(
        lambda t: {**nest(t[0]), "$or": [nest(t[1]), nest(t[2])]}
    ),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
ITEMS = st.lists(st.dictionaries(st.sampled_from(["k", "m"]), VALUES, max_size=2), max_size=3)
EVENTS = st.builds(
    lambda source, detail, items: {
        **ENVELOPE,
        "source": source,
        "detail": {**detail, **({"items": items} if items is not None else {})},
    },
    st.sampled_from(STRINGS),
    st.dictionaries(st.sampled_from(["f", "g"]), VALUES, max_size=2),
    st.one_of(st.none(), ITEMS),
)


def valid(patterns: list[Any]) -> list[Any]:
    kept = []
    for pattern in patterns:
        try:
            compile(pattern)
        except InvalidPattern:
            continue
        kept.append(pattern)
    return kept


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PATTERNS, min_size=1, max_size=12), st.lists(EVENTS, min_size=1, max_size=6))
def test_index_equals_naive_loop(patterns: list[Any], events: list[dict[str, Any]]) -> None:
    patterns = valid(patterns)
    rules: PatternSet[int] = PatternSet()
    for rule_id, pattern in enumerate(patterns):
        rules.add(rule_id, pattern)
    compiled = [compile(p) for p in patterns]
    for event in events:
        expected = {i for i, p in enumerate(compiled) if p.matches(event)}
        assert rules.matching(event) == expected
    for rule_id in range(0, len(patterns), 2):
        rules.remove(rule_id)
    for event in events:
        expected = {i for i, p in enumerate(compiled) if i % 2 and p.matches(event)}
        assert rules.matching(event) == expected


def brute_force(conditions: tuple[tuple[str, Condition], ...], fields: Fields) -> bool:
    """Try every choice of one leaf (or absence) per condition; the definition, slowly."""
    options = []
    for path, condition in conditions:
        leaves = fields.get(path, [])
        choices: list[Any] = [leaf for leaf in leaves if condition.accepts(leaf.value, leaf.key)]
        if condition.absent_ok:
            choices.append(("absent", path))
        options.append(choices)
    for combo in itertools.product(*options):
        chosen: dict[int, int] = {}
        ok = True
        for choice in combo:
            if isinstance(choice, tuple) and choice[0] == "absent":
                continue
            for array, index in choice.membership:
                ok = ok and chosen.setdefault(array, index) == index
        for choice in combo:
            if ok and isinstance(choice, tuple) and choice[0] == "absent":
                for leaf in fields.get(choice[1], []):
                    if all(chosen.get(a, i) == i for a, i in leaf.membership):
                        ok = False
        if ok:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(PATTERNS, EVENTS)
def test_consistency_search_equals_brute_force(pattern: Any, event: dict[str, Any]) -> None:
    try:
        compiled = compile(pattern)
    except InvalidPattern:
        return
    fields = flatten(event)
    for branch in compiled.branches:
        assert branch_matches(branch.conditions, fields) == brute_force(branch.conditions, fields)


def test_add_replace_remove() -> None:
    rules: PatternSet[str] = PatternSet()
    rules.add("r", {"source": ["a"]})
    event = {**ENVELOPE, "source": "a"}
    assert rules.matching(event) == {"r"}
    rules.add("r", {"source": ["b"]})  # same id replaces
    assert len(rules) == 1 and "r" in rules and list(rules) == ["r"]
    assert rules.matching(event) == set()
    assert rules.get("r") is not None and rules.get("missing") is None
    rules.remove("r")
    assert rules.matching(event) == set()
    with pytest.raises(KeyError):
        rules.remove("r")


def test_invalid_pattern_leaves_the_set_unchanged() -> None:
    rules: PatternSet[str] = PatternSet()
    rules.add("r", {"source": ["a"]})
    with pytest.raises(InvalidPattern):
        rules.add("r", {"source": []})
    assert rules.matching({**ENVELOPE, "source": "a"}) == {"r"}


def test_events_are_validated_even_without_rules() -> None:
    with pytest.raises(InvalidEvent):
        PatternSet().matching("not json")


def test_unindexed_rules_are_still_found() -> None:
    rules: PatternSet[str] = PatternSet()
    rules.add("numeric", {"detail": {"n": [{"numeric": [">", 5]}]}})
    rules.add("absent", {"detail": {"n": [{"exists": False}]}})
    rules.add("but", {"source": [{"anything-but": "x"}]})
    assert rules.matching({**ENVELOPE, "detail": {"n": 6}}) == {"numeric", "but"}
    assert rules.matching({**ENVELOPE, "source": "x", "detail": {}}) == {"absent"}


def test_candidates_are_narrowed_by_the_index() -> None:
    rules: PatternSet[int] = PatternSet()
    for n in range(1000):
        rules.add(n, {"source": [f"s{n % 50}"], "detail": {"k": [f"v{n}", {"prefix": f"p{n}-"}]}})
    fields = flatten({**ENVELOPE, "source": "s7", "detail": {"k": "p57-x"}})
    assert rules._candidates(fields) != []
    assert len(rules._candidates(fields)) == 1
    assert rules.matching({**ENVELOPE, "source": "s7", "detail": {"k": "p57-x"}}) == {57}
