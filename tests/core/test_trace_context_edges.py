"""The trace context carrier (core/trace_context.py): traceparent validation, ids, and
stamping on and reading from a message's attributes JSON."""

from __future__ import annotations

import contextvars
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import trace_context as tc

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
traces = st.integers(1, 2**128 - 1)
spans = st.integers(1, 2**64 - 1)


def test_a_passthrough_hands_its_traceparent_on() -> None:
    assert tc.Passthrough(TP).outgoing("queue:q", 3) == TP


def test_the_carrier_is_the_running_works_else_the_ambient_one() -> None:
    # A fresh context (no running work) and no ambient carrier, whatever ran before.
    saved, tc.AMBIENT.carrier = tc.AMBIENT.carrier, None
    try:
        contextvars.Context().run(_carrier_order)
    finally:
        tc.AMBIENT.carrier = saved


def _carrier_order() -> None:
    assert tc.carrier() is None and tc.current_traceparent() is None
    ambient = tc.Passthrough(TP)
    tc.AMBIENT.carrier = ambient
    assert tc.carrier() is ambient
    assert tc.current_traceparent() is None  # the ambient carrier is not the running work's
    work = tc.Passthrough("00-" + "1" * 32 + "-" + "2" * 16 + "-00")
    tc.CURRENT.set(work)
    assert tc.carrier() is work
    assert tc.current_traceparent() == work.traceparent


def test_a_carrier_without_a_traceparent_gives_none() -> None:
    class Opener:
        def outgoing(self, destination: str, count: int) -> str | None:
            return None

    def check() -> None:
        tc.CURRENT.set(Opener())
        assert tc.current_traceparent() is None

    contextvars.Context().run(check)


@given(traces, spans, st.booleans())
def test_formatted_traceparents_are_valid_and_give_their_ids(
    trace: int, span: int, sampled: bool
) -> None:
    value = tc.format_traceparent(trace, span, sampled)
    assert tc.valid(value) == value and tc.valid(f"  {value.upper()} ") == value
    assert tc.trace_id(value) == f"{trace:032x}" and tc.span_id(value) == f"{span:016x}"
    assert value.endswith("-01" if sampled else "-00")


@pytest.mark.parametrize(
    "bad",
    [
        None,
        17,
        "",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01",
        TP + "-extra",
    ],
)
def test_malformed_traceparents_are_invalid(bad: object) -> None:
    assert tc.valid(bad) is None


def test_no_traceparent_gives_no_ids() -> None:
    assert tc.trace_id(None) is None and tc.span_id(None) is None


@pytest.mark.parametrize("attributes", [None, "", "{}", '{"a":["String","x"]}'])
def test_stamping_puts_the_traceparent_first_and_keeps_the_rest(attributes: str | None) -> None:
    stamped = tc.stamp(attributes, TP)
    assert stamped is not None and tc.read(stamped) == TP
    parsed = json.loads(stamped)
    assert parsed.pop(tc.KEY) == ["String", TP]
    assert parsed == json.loads(attributes or "{}")


def test_restamping_replaces_never_stacks() -> None:
    other = "00-" + "a" * 32 + "-" + "b" * 16 + "-00"
    once = tc.stamp('{"a":["String","x"]}', TP)
    twice = tc.stamp(once, other)
    assert tc.read(twice) == other and twice is not None and twice.count(tc.KEY) == 1
    assert json.loads(twice) == {tc.KEY: ["String", other], "a": ["String", "x"]}
    alone = tc.stamp(tc.stamp("{}", TP), other)
    assert alone is not None and json.loads(alone) == {tc.KEY: ["String", other]}


def test_no_traceparent_leaves_the_attributes_alone() -> None:
    assert tc.stamp('{"a":["String","x"]}', None) == '{"a":["String","x"]}'


def test_reading_unstamped_or_truncated_attributes_gives_none() -> None:
    assert tc.read(None) is None
    assert tc.read('{"a":["String","x"]}') is None
    assert tc.read(tc.stamp("{}", TP)[:-10]) is None  # type: ignore[index]
