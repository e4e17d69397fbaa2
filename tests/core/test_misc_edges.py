"""Edges of the small pure modules: strict JSON limits, event-pattern errors and reprs,
queue attributes with a trace context, quotas, schedules at the end of time, stream
batches and input templates with escapes."""

from __future__ import annotations

import inspect
import json
import sys
from datetime import UTC, datetime

import pytest

from stormproof.core import json_limits, queue_rules, quota, schedule, stream_batch, trace_context
from stormproof.core.patterns import compile_pattern
from stormproof.core.patterns.operators import Absent, ExactKey
from stormproof.core.transform import InputTransformer, TargetInput
from stormproof.errors import InvalidAttribute, InvalidPattern, NestingTooDeep

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_text_nested_past_the_parsers_recursion_is_too_deep() -> None:
    with pytest.raises(NestingTooDeep) as err:
        json_limits.loads("body", "[" * 200_000 + "]" * 200_000)
    assert err.value.field == "body"


def test_a_value_whose_repr_fails_is_summarised_by_its_type() -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    with pytest.raises(InvalidAttribute) as err:
        json_limits.dumps("payload", Opaque())
    assert (err.value.field, err.value.value) == ("payload", "<Opaque>")


@pytest.mark.parametrize(
    ("member", "shown"), [([1], "["), ({"a": 1}, "{"), (None, "null"), (2.5, "2.5")]
)
def test_numeric_match_errors_print_the_token_as_a_json_parser_does(
    member: object, shown: str
) -> None:
    with pytest.raises(InvalidPattern) as err:
        compile_pattern({"n": [{"numeric": [member, 1]}]})
    assert str(err.value).endswith(f"Reason: Invalid member in numeric match: {shown}")
    with pytest.raises(InvalidPattern) as err:
        compile_pattern({"n": [{"numeric": [">", 1, member, 2]}]})
    assert str(err.value).endswith(f"Reason: Bad value in numeric range: {shown}")


def test_a_pattern_prints_its_paths_and_branch_count() -> None:
    pattern = compile_pattern({"b": ["x"], "a": {"c": [1]}})
    assert repr(pattern) == "<Pattern paths=['a.c', 'b'] branches=1>"


def test_exact_keys_are_looked_up_and_absence_never_matches_a_value() -> None:
    with pytest.raises(NotImplementedError):
        ExactKey("x").matches("x")
    assert not Absent().matches(None)


def test_patterns_nested_too_deep_are_refused_as_mappings_or_text() -> None:
    deep: dict[str, object] = {"x": ["v"]}
    for _ in range(json_limits.MAX_DEPTH + 1):
        deep = {"x": deep}
    with pytest.raises(InvalidPattern, match="nested more than 64 levels"):
        compile_pattern(deep)
    with pytest.raises(InvalidPattern, match="nested more than 64 levels"):
        compile_pattern(json.dumps(deep))
    # Within the 4096-character limit, yet past the parser's recursion limit.
    with pytest.raises(InvalidPattern, match="nested more than 64 levels"):
        compile_pattern("[" * 2000 + "]" * 2000)


def test_the_trace_context_is_not_a_sender_attribute() -> None:
    text, _ = queue_rules.encode_attributes({"a": "x", "n": 2})
    stamped = trace_context.stamp(text, TP)
    assert queue_rules.decode_attributes(stamped) == {"a": "x", "n": 2}


def test_a_quota_offset_must_be_an_integer_and_usage_never_goes_negative() -> None:
    for bad in (True, 1.5, "1"):
        with pytest.raises(InvalidAttribute) as err:
            quota.Quota(10, "WEEK", bad)  # type: ignore[arg-type]
        assert err.value.field == "quota.offset" and err.value.allowed == "an integer 0..6"
    q = quota.Quota(10, "DAY")
    assert quota.remaining(q, 3) == 7 and quota.remaining(q, 12) == 0


def test_schedules_end_with_the_datetime_range() -> None:
    end = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    rate = schedule.parse("rate(1 day)")
    assert rate.next_after(end) is None
    cron = schedule.parse("cron(0 12 * * ? *)")
    assert cron.next_after(datetime(2200, 1, 1, tzinfo=UTC)) is None
    with pytest.raises(InvalidAttribute):
        schedule.parse(12)  # type: ignore[arg-type]


def test_expiring_no_records_keeps_the_plan_and_odd_failure_lists_retry_all() -> None:
    plan = stream_batch.start(5)
    assert stream_batch.expire(plan, 0) == (plan, None)
    sequences = ["1", "2", "3"]
    assert stream_batch.lowest_failure(sequences, {"batchItemFailures": "2"}) == 0
    assert stream_batch.lowest_failure(sequences, {"batchItemFailures": []}) is None


def render(template: str) -> str | None:
    target = TargetInput.build(input_transformer=InputTransformer(template, {"x": "$.a"}))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return target.render({"a": "v"}, rule_arn="arn", rule_name="r", ingestion_time=when)


def test_escaped_quotes_neither_open_nor_close_template_strings() -> None:
    assert render('{"k": "pre <x> \\" post", "q": "\\"<x>"}') == (
        '{"k": "pre v \\" post", "q": "\\"v"}'
    )
    with pytest.raises(InvalidAttribute, match="not object keys"):
        render('{"a \\" <x>": 1}')


def test_a_template_whose_string_never_closes_is_not_delivered() -> None:
    assert render('{"k": "<x>') is None


def test_pattern_text_past_a_lower_recursion_limit_is_too_deep() -> None:
    # jsonata raises the process's recursion limit to 10000 on import; an embedding process
    # may run with Python's default (1000), where 2000 levels fit in 4096 characters.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 500)
    try:
        with pytest.raises(InvalidPattern, match="nested more than 64 levels"):
            compile_pattern("[" * 2000 + "]" * 2000)
    finally:
        sys.setrecursionlimit(old)
