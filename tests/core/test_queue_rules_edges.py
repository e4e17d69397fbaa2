"""Queue rules at their edges: names, redrive policies, DLQ pairing, attributes, batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import queue_rules as rules
from stormproof.core.queue_rules import QueueAttributes
from stormproof.errors import BatchRequestInvalid, InvalidAttribute, MissingParameter


def test_attributes_round_trip_through_json_and_ignore_unknown_fields() -> None:
    attrs = QueueAttributes(redrive_allow={"redrivePermission": "allowAll"}, extra={"k": 1})
    text = attrs.to_json().replace('"delay"', '"from_the_future": 1, "delay"')
    assert QueueAttributes.from_json(text) == attrs
    assert attrs.merged({"delay": 5}).delay == 5


@pytest.mark.parametrize(
    ("name", "fifo"),
    [
        (None, None),
        ("", None),
        ("a" * 81, None),
        ("bad name", None),
        ("q", True),
        ("q.fifo", False),
    ],
)
def test_bad_queue_names_and_fifo_flags_are_rejected(name: Any, fifo: bool | None) -> None:
    with pytest.raises(InvalidAttribute):
        rules.validate_queue_name(name, fifo)


def test_fifo_flag_follows_the_name() -> None:
    assert rules.validate_queue_name("q.fifo", None) is True
    assert rules.validate_queue_name("q.fifo", True) is True
    assert rules.validate_queue_name("q", False) is False


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        (None, None),
        ("allowAll", {"redrivePermission": "allowAll", "sourceQueues": []}),
        (["a", "b"], {"redrivePermission": "byQueue", "sourceQueues": ["a", "b"]}),
        (
            {"redrivePermission": "byQueue", "sourceQueues": ("a",)},
            {"redrivePermission": "byQueue", "sourceQueues": ["a"]},
        ),
    ],
)
def test_redrive_allow_normalises(given_: Any, expected: Any) -> None:
    assert rules.validate_redrive_allow(given_) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "sometimes",
        42,
        {"redrivePermission": "allowAll", "sourceQueues": "a"},
        [],
        ["q"] * 11,
        ["not a name"],
    ],
)
def test_bad_redrive_allow_is_rejected(bad: Any) -> None:
    with pytest.raises(InvalidAttribute) as info:
        rules.validate_redrive_allow(bad)
    assert info.value.field == "redrive_allow"


def test_dead_letter_must_match_type_and_be_permitted() -> None:
    standard, fifo = QueueAttributes(), QueueAttributes(fifo=True)
    with pytest.raises(InvalidAttribute, match="own DLQ"):
        rules.check_dead_letter("q", standard, "q", standard)
    with pytest.raises(InvalidAttribute, match="standard queue"):
        rules.check_dead_letter("q", standard, "d.fifo", fifo)
    deny = QueueAttributes(redrive_allow={"redrivePermission": "denyAll"})
    with pytest.raises(InvalidAttribute, match="permits"):
        rules.check_dead_letter("q", standard, "d", deny)
    only_b = QueueAttributes(redrive_allow={"redrivePermission": "byQueue", "sourceQueues": ["b"]})
    with pytest.raises(InvalidAttribute, match="permits"):
        rules.check_dead_letter("q", standard, "d", only_b)
    rules.check_dead_letter("b", standard, "d", only_b)
    rules.check_dead_letter("q", standard, "d", standard)


@pytest.mark.parametrize(
    "changes",
    [
        {"max_receive_count": 2.5},
        {"delay": "soon"},
        {"delay": True},
        {"content_based_deduplication": 1},
        {"dead_letter": 7},
        {"colour": "blue"},
    ],
)
def test_bad_attribute_changes_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidAttribute):
        rules.validate_attribute_changes(changes)


def test_attribute_changes_are_normalised() -> None:
    out = rules.validate_attribute_changes(
        {
            "max_receive_count": 3.0,
            "visibility_timeout": timedelta(minutes=1),
            "redrive_allow": "denyAll",
            "content_based_deduplication": True,
            "dead_letter": None,
        }
    )
    assert out["max_receive_count"] == 3 and type(out["max_receive_count"]) is int
    assert out["visibility_timeout"] == 60
    assert out["redrive_allow"] == {"redrivePermission": "denyAll", "sourceQueues": []}


@pytest.mark.parametrize(
    "attributes",
    [
        {f"a{i}": "x" for i in range(11)},
        {"": "x"},
        {"a" * 257: "x"},
        {"bad name": "x"},
        {"n": True},
        {"n": None},
        {"n": float("nan")},
        {"n": object()},
    ],
)
def test_bad_message_attributes_are_rejected(attributes: dict[str, Any]) -> None:
    with pytest.raises(InvalidAttribute):
        rules.encode_attributes(attributes)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True),
        st.one_of(
            st.text(alphabet="abc xyz"),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.binary(),
        ),
        max_size=10,
    )
)
def test_message_attributes_round_trip(attributes: dict[str, Any]) -> None:
    text, _ = rules.encode_attributes(attributes)
    assert rules.decode_attributes(text) == attributes


def test_fifo_messages_need_a_group_and_a_dedup_id_or_content_dedup() -> None:
    fifo = QueueAttributes(fifo=True)
    with pytest.raises(MissingParameter) as info:
        rules.prepare_message(fifo, "x")
    assert info.value.field == "group_id"
    with pytest.raises(MissingParameter) as info:
        rules.prepare_message(fifo, "x", group_id="g")
    assert info.value.field == "dedup_id"
    hashed = rules.prepare_message(
        QueueAttributes(fifo=True, content_based_deduplication=True), "x", group_id="g"
    )
    assert hashed.dedup_id is not None and len(hashed.dedup_id) == 64


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": ""},
        {"body": "x", "group_id": "has space"},
        {"body": "x", "dedup_id": "d"},
        {"body": "x", "delay": 901},
    ],
)
def test_bad_messages_are_rejected_before_storing(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidAttribute):
        rules.prepare_message(QueueAttributes(), **kwargs)


def test_a_message_on_a_queue_keeps_the_queue_delay_unless_given() -> None:
    attrs = QueueAttributes(delay=7)
    assert rules.prepare_message(attrs, {"a": 1}).delay == 7
    assert rules.prepare_message(attrs, "x", delay=timedelta(seconds=2)).delay == 2


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "EmptyBatchRequest"),
        ([{"id": str(i)} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"id": "bad id"}], "InvalidBatchEntryId"),
        (["not a mapping"], "InvalidBatchEntryId"),
        ([{"id": "a"}, {"id": "a"}], "BatchEntryIdsNotDistinct"),
    ],
)
def test_bad_batches_name_the_aws_code(entries: list[Any], code: str) -> None:
    with pytest.raises(BatchRequestInvalid) as info:
        rules.check_batch(entries)
    assert info.value.code == code


def test_batch_size_is_capped_like_one_message() -> None:
    rules.check_batch_size(rules.MAX_MESSAGE_SIZE)
    with pytest.raises(BatchRequestInvalid) as info:
        rules.check_batch_size(rules.MAX_MESSAGE_SIZE + 1)
    assert info.value.code == "BatchRequestTooLong"


@pytest.mark.parametrize("value", [0, 11, True, 2.0])
def test_max_messages_is_a_whole_number_from_1_to_10(value: Any) -> None:
    with pytest.raises(InvalidAttribute):
        rules.max_messages(value)


def test_receive_ranges() -> None:
    assert rules.max_messages(10) == 10
    assert rules.wait_time(timedelta(seconds=20)) == 20.0
    assert rules.visibility("visibility_timeout", 0) == 0.0
    with pytest.raises(InvalidAttribute):
        rules.wait_time(21)
