"""JSONPath subset: selection, errors in AWS's wording, and ResultPath placement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl import paths
from stormproof.core.asl.paths import PathError

DOC = {
    "a": {"b": [1, 2, 3]},
    "items": [{"v": 1, "s": 0}, {"v": 2, "s": 1}, {"v": 3, "s": 0}],
    'Test\\""Name"': "odd",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.a.b", [1, 2, 3]),
        ("$.a.b[1]", 2),
        ("$.a.b[-1]", 3),
        ("$['a']['b'][0]", 1),
        ("$.items[*].v", [1, 2, 3]),
        ("$.items[1:].v", [2, 3]),
        ("$.items[:1].v", [1]),
        ("$.items[?(@.s == 0)].v", [1, 3]),
        ("$.items[?(@.v > 1 && @.s == 0)].v", [3]),
        ("$..v", [1, 2, 3]),
        ("$.a.b.length()", [3]),
        ('$[\'Test\\""Name"\']', "odd"),
    ],
)
def test_select(path: str, expected: object) -> None:
    assert paths.select(path, DOC) == expected


def test_missing_leaf_and_missing_parent_messages() -> None:
    with pytest.raises(PathError, match=r"No results for path: \$\['nope'\]"):
        paths.select("$.nope", DOC)
    with pytest.raises(PathError, match=r"Missing property in path \$\['no'\]"):
        paths.select("$.no.such.path", DOC)


def test_indefinite_path_with_no_match_is_empty() -> None:
    assert paths.select("$.items[?(@.s == 9)]", DOC) == []


def test_roots() -> None:
    assert paths.parse("$$.Execution.Id").root == "$$"
    assert paths.parse("$myVar.x").root == "myVar"
    assert paths.parse("$.x").root == "$"
    with pytest.raises(PathError):
        paths.parse("x.y")


def test_put_creates_intermediate_objects_and_copies() -> None:
    original = {"a": 1}
    placed = paths.put(original, "$.b.c", {"d": 2})
    assert placed == {"a": 1, "b": {"c": {"d": 2}}}
    assert original == {"a": 1}
    assert paths.put(original, "$", [1]) == [1]


@given(st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=5), st.integers()))
def test_put_then_select_round_trip(doc: dict[str, int]) -> None:
    placed = paths.put(doc, "$.result.value", 42)
    assert paths.select("$.result.value", placed) == 42
    for key, value in doc.items():
        if key != "result":
            assert placed[key] == value
