"""The JSONPath subset's edges: malformed paths, indefinite steps, and where put refuses."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.paths import PathError, parse, put, select

DOC: dict[str, Any] = {
    "a": {"b": [1, 2, 3], "c": {"b": 9}},
    "list": [{"x": 1}, {"x": 2}, {"y": 3}],
    "s": "text",
}


@pytest.mark.parametrize(
    "text",
    [
        "$..",
        "$.",
        "$[?(@.x == 1",
        "$[?(@.x == 1)",
        "$[?(@.x == 1)x",
        "$['a",
        "$[1",
        "$[x]",
        "$a b",
        "$]",
    ],
)
def test_malformed_paths_are_refused(text: str) -> None:
    with pytest.raises(PathError, match="Invalid path"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$..b", [[1, 2, 3], 9]),
        ("$.list..*", [{"x": 1}, 1, {"x": 2}, 2, {"y": 3}, 3]),
        ("$.a.*", [[1, 2, 3], {"b": 9}]),
        ("$.list[*].x", [1, 2]),
        ("$.s.*", []),  # a scalar has no children
        ("$.a.b[0:2]", [1, 2]),
        ("$.a.b[::2]", [1, 3]),
        ("$.s[0:1]", []),  # slicing a string selects nothing
        ("$.a.b[0,2]", [1, 3]),
        ("$.a['b','c']", [[1, 2, 3], {"b": 9}]),
        ("$.list[?(@.x > 1)]", [{"x": 2}]),
        ("$.a.b.length()", [3]),
        ("$.a.b[0].length()", []),  # a number has no length
    ],
)
def test_indefinite_paths_select_lists(text: str, expected: list[Any]) -> None:
    assert select(text, DOC) == expected


def test_definite_paths_name_what_is_missing() -> None:
    with pytest.raises(PathError, match=r"No results for path: \$\['a'\]\['zz'\]"):
        select("$.a.zz", DOC)
    with pytest.raises(PathError, match=r"Missing property in path \$\['zz'\]"):
        select("$.zz.b", DOC)


def test_put_builds_and_replaces() -> None:
    assert put({"a": 1}, "$", {"b": 2}) == {"b": 2}
    assert put("scalar", "$.x.y", 1) == {"x": {"y": 1}}
    assert put({"l": [{"v": 0}]}, "$.l[0].v", 5) == {"l": [{"v": 5}]}
    assert put({"l": [0, 1]}, "$.l[-1]", 7) == {"l": [0, 7]}
    assert put({"a": 3}, "$.a.b", 1) == {"a": {"b": 1}}


@pytest.mark.parametrize(("doc", "path"), [({"l": [0]}, "$.l[3]"), ({"l": {}}, "$.l[0]")])
def test_put_refuses_where_no_value_fits(doc: Any, path: str) -> None:
    with pytest.raises(PathError, match="cannot place a value there"):
        put(doc, path, 1)
