"""Parsing intrinsic calls: every argument kind, and every way a call can be malformed."""

from __future__ import annotations

import pytest

from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.intrinsic_syntax import (
    CLOSE_MARK,
    OPEN_MARK,
    Call,
    Literal,
    PathArg,
    parse,
    unmark,
)


def test_every_argument_kind() -> None:
    call = parse("States.Array( 'a\\'b\\n', -1.5e1, true, null, $.x[0], States.UUID() )")
    assert call == Call(
        "States.Array",
        (
            Literal("a'b\n"),
            Literal(-15.0),
            Literal(True),
            Literal(None),
            PathArg("$.x[0]"),
            Call("States.UUID", ()),
        ),
    )


def test_paths_keep_brackets_quotes_and_parentheses() -> None:
    call = parse("States.Format('{}', $['a,b'][?(@.x == 1)], $$.Execution.Id)")
    assert call.args[1:] == (PathArg("$['a,b'][?(@.x == 1)]"), PathArg("$$.Execution.Id"))


def test_a_path_may_run_to_the_end_of_the_text() -> None:
    # Unclosed calls are refused, but the path scanner itself stops at the end.
    with pytest.raises(StatesError):
        parse("States.Array($.a")


def test_escaped_braces_stay_marked_until_unmarked() -> None:
    literal = parse("States.Format('\\{\\}', 1)").args[0]
    assert literal == Literal(OPEN_MARK + CLOSE_MARK)
    assert unmark(OPEN_MARK + "x" + CLOSE_MARK) == "{x}"


@pytest.mark.parametrize(
    "text",
    [
        "States.Array(1) trailing",
        "NotStates(1)",
        "States.Array(1 2)",
        "States.Array(@)",
        "States.Array('unterminated)",
        "States.Array(1,",
    ],
)
def test_malformed_calls_are_states_runtime(text: str) -> None:
    with pytest.raises(StatesError) as info:
        parse(text)
    assert info.value.error == "States.Runtime"
