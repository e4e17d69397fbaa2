"""EventBridge target input shaping: definition-time validation and rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.eventpath import MISSING, EventPath
from stormproof.core.transform import InputTransformer, TargetInput
from stormproof.errors import InvalidAttribute

RULE = {"rule_arn": "arn:aws:events:us-east-1:111111111111:rule/r", "rule_name": "r"}
INGESTED = datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC)
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7a2b0c3e-0000-4000-8000-000000000001",
    "detail-type": "order.placed",
    "source": "shop",
    "account": "111111111111",
    "time": "2024-01-01T12:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"id": "o-1", "total": 120.5, "items": [{"sku": "a"}, {"sku": "b"}], "ok": True},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
# Strings that survive unescaped insertion: no quote, backslash or control character.
plain_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='"\\<>'), max_size=20
)


def render(target: TargetInput, event: dict[str, Any] = EVENT) -> str | None:
    return target.render(event, ingestion_time=INGESTED, **RULE)


def transformer(template: str, **paths: str) -> TargetInput:
    return TargetInput.build(input_transformer=InputTransformer(template, paths))


# --- no config, input, input_path ----------------------------------------------------


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_without_config_the_whole_event_is_delivered(event: dict[str, Any]) -> None:
    body = render(TargetInput.build(), event)
    assert body is not None
    assert json.loads(body) == event


@given(json_values, st.dictionaries(st.text(max_size=5), json_values, max_size=3))
def test_constant_input_ignores_the_event(value: Any, event: dict[str, Any]) -> None:
    text = json.dumps(value)
    assert render(TargetInput.build(input=text), event) == text


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True), json_values, min_size=1, max_size=4
    ),
    st.data(),
)
def test_input_path_delivers_the_selected_value(
    detail: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(detail)))
    body = render(TargetInput.build(input_path=f"$.detail.{key}"), {"detail": detail})
    assert body is not None
    assert json.loads(body) == detail[key]


def test_input_path_supports_indexes_and_brackets() -> None:
    assert render(TargetInput.build(input_path="$.detail.items[1].sku")) == '"b"'
    assert render(TargetInput.build(input_path="$['detail-type']")) == '"order.placed"'
    assert render(TargetInput.build(input_path="$")) == json.dumps(EVENT, separators=(",", ":"))


def test_input_path_that_selects_nothing_is_not_delivered() -> None:
    assert render(TargetInput.build(input_path="$.detail.items[5]")) is None
    assert render(TargetInput.build(input_path="$.detail.id.deeper")) is None


@pytest.mark.parametrize(
    "path",
    [
        "detail",
        "$.",
        "$..id",
        "$.detail.*",
        "$.items[-1]",
        "$.items[0:2]",
        "$[?(@.a)]",
        "$" + ".a" * 200,
    ],
)
def test_unsupported_paths_are_rejected_at_definition(path: str) -> None:
    with pytest.raises(InvalidAttribute) as info:
        TargetInput.build(input_path=path)
    assert info.value.field == "input_path"


def test_event_path_resolves_or_reports_missing() -> None:
    path = EventPath.parse("$.a[0].b", field="input_path")
    assert path.steps == ("a", 0, "b")
    assert path.resolve({"a": [{"b": None}]}) is None
    assert path.resolve({"a": {"0": {"b": 1}}}) is MISSING


# --- input_transformer: rendering -------------------------------------------------------


@given(json_values.filter(lambda v: not isinstance(v, str)) | plain_text)
def test_value_placeholder_round_trips(value: Any) -> None:
    body = render(transformer('{"v": <x>}', x="$.detail.x"), {"detail": {"x": value}})
    assert body is not None
    assert json.loads(body) == {"v": value}


@given(plain_text, plain_text, plain_text)
def test_string_values_are_inserted_raw_inside_strings(value: str, before: str, after: str) -> None:
    template = json.dumps({"s": f"{before}<x>{after}"}, ensure_ascii=False)
    body = render(transformer(template, x="$.x"), {"x": value})
    assert body is not None
    assert json.loads(body)["s"] == json.loads(template)["s"].replace("<x>", value)


@given(
    st.dictionaries(st.text(max_size=4), json_values, max_size=4),
    st.sampled_from(['{"a": <x>, "b": "<x>"}', "[<x>, <x>]", '{"deep": {"x": "pre <x>"}}', "<x>"]),
)
def test_json_templates_never_deliver_invalid_json(detail: dict[str, Any], template: str) -> None:
    body = render(transformer(template, x="$.detail.v"), {"detail": {"v": detail}})
    if body is not None:
        json.loads(body)


def test_values_are_not_escaped() -> None:
    target = transformer('{"s": "<x>"}', x="$.x")
    assert render(target, {"x": 'say "hi"'}) is None  # the raw quote breaks the JSON
    assert render(transformer('{"v": <x>}', x="$.x"), {"x": 'a"b'}) is None


def test_objects_inside_strings_are_not_delivered_but_string_templates_flatten_them() -> None:
    event = {"p": {"a": 1, "b": "x"}, "l": ["X", "Y"]}
    assert render(transformer('{"p": "<p>"}', p="$.p"), event) is None
    body = render(transformer('"p=<p> l=<l>"', p="$.p", l="$.l"), event)
    assert body == '"p={a:1,b:x} l=[X,Y]"'


def test_missing_paths_become_empty() -> None:
    target = transformer('{"v": <x>, "s": "a<x>b"}', x="$.nope")
    assert json.loads(render(target) or "") == {"v": "", "s": "ab"}
    assert render(transformer('"a<x>b"', x="$.nope")) == '"ab"'


def test_predefined_variables() -> None:
    template = (
        '{"arn": "<aws.events.rule-arn>", "name": "<aws.events.rule-name>", '
        '"at": "<aws.events.event.ingestion-time>", "e": <aws.events.event>, '
        '"full": <aws.events.event.json>}'
    )
    out = json.loads(render(TargetInput.build(input_transformer=InputTransformer(template))) or "")
    assert out["arn"] == RULE["rule_arn"]
    assert out["name"] == "r"
    assert out["at"] == "2024-01-01T12:00:01Z"
    assert out["full"] == EVENT
    assert "detail" not in out["e"]
    assert out["e"]["detailType"] == "order.placed"


def test_string_template_lines_must_each_be_json() -> None:
    assert render(transformer('"a <x>"\n"b <x>"', x="$.source")) == '"a shop"\n"b shop"'
    assert render(transformer('"a <x>" trailing', x="$.source")) is None


def test_aws_shaped_mapping_is_accepted() -> None:
    target = TargetInput.build(
        input_transformer={"InputPathsMap": {"s": "$.source"}, "InputTemplate": '{"s": <s>}'}
    )
    assert render(target) == '{"s": "shop"}'


# --- input_transformer: rejected at definition ------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"input": "{}", "input_path": "$.a"}, "input_path"),
        ({"input_path": "$.a", "input_transformer": InputTransformer('"x"')}, "input_transformer"),
        ({"input": "{not json"}, "input"),
        ({"input": "NaN"}, "input"),
        ({"input": "1" * 8193}, "input"),
        ({"input_transformer": InputTransformer("")}, "input_template"),
        ({"input_transformer": InputTransformer('"' + "a" * 8192 + '"')}, "input_template"),
        ({"input_transformer": InputTransformer('"<undefined>"')}, "input_template"),
        ({"input_transformer": InputTransformer("{<k>: 1}", {"k": "$.a"})}, "input_template"),
        ({"input_transformer": InputTransformer('{"<k>": 1}', {"k": "$.a"})}, "input_template"),
        ({"input_transformer": InputTransformer('{"e": "<aws.events.event>"}')}, "input_template"),
        ({"input_transformer": InputTransformer('"<aws.events.event.json>"')}, "input_template"),
        ({"input_transformer": InputTransformer('"x"', {"bad.key": "$.a"})}, "input_paths_map"),
        ({"input_transformer": InputTransformer('"x"', {"": "$.a"})}, "input_paths_map"),
        ({"input_transformer": InputTransformer('"x"', {"k": "a.b"})}, "input_paths_map"),
        (
            {"input_transformer": InputTransformer('"x"', {f"k{i}": "$.a" for i in range(101)})},
            "input_paths_map",
        ),
    ],
)
def test_invalid_targets_are_rejected_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAttribute) as info:
        TargetInput.build(**kwargs)
    assert info.value.field == field


def test_one_hundred_variables_are_allowed() -> None:
    paths = {f"k{i}": f"$.detail.k{i}" for i in range(100)}
    template = "[" + ", ".join(f"<k{i}>" for i in range(100)) + "]"
    target = TargetInput.build(input_transformer=InputTransformer(template, paths))
    assert json.loads(render(target, {"detail": {"k7": 7}}) or "")[7] == 7


@pytest.mark.parametrize("template", ['{"a": <x}', '"at <aws.events.event.ingestion-time"'])
def test_an_unclosed_placeholder_of_a_variable_is_refused(template: str) -> None:
    with pytest.raises(InvalidAttribute, match="closed with '>'"):
        transformer(template, x="$.detail")


def test_an_unclosed_angle_before_an_unknown_name_is_plain_text() -> None:
    assert render(transformer('"a <b c"', x="$.detail")) == '"a <b c"'
