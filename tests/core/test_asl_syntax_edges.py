"""Syntax checks of `.$` values: brackets, intrinsic calls and their path arguments."""

from __future__ import annotations

import pytest

from stormproof.core.asl.validate_syntax import intrinsic_problem, is_rfc3339, path_problem


@pytest.mark.parametrize("text", ["$.a]", "$.a[0]]", "$['x\\'y']]"])
def test_paths_with_unbalanced_brackets_are_refused(text: str) -> None:
    assert path_problem(text) is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("States.Array(" * 12 + ")" * 12, "nests more than"),
        ("States.", "is not a valid intrinsic function call"),
        ("States.NoSuch(1)", "uses unknown intrinsic function States.NoSuch"),
        ("States.Array 1", "lacks '('"),
        ("States.Array($.a[?(@.x == ')')], $.b[0]])", "has an argument that"),
    ],
)
def test_intrinsic_problems_say_what_is_wrong(text: str, problem: str) -> None:
    found = intrinsic_problem(text)
    assert found is not None
    assert problem in found


def test_path_arguments_skip_quotes_and_nested_brackets() -> None:
    assert intrinsic_problem("States.Array($['a,b'][?(@.x == \"),\")], $.c)") is None


@pytest.mark.parametrize("text", ["2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+23:60"])
def test_rfc3339_refuses_zone_offsets_out_of_range(text: str) -> None:
    assert is_rfc3339(text) is False


@pytest.mark.parametrize("value", [5, None, "not a date", "2024-01-01t00:00:00Z"])
def test_rfc3339_refuses_what_is_not_a_timestamp(value: object) -> None:
    assert is_rfc3339(value) is False
