"""Queue attribute and message validation (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import queue_rules as rules
from stormproof.errors import InvalidAttribute, InvalidMessageContents, MessageTooLarge

RANGES = {
    "visibility_timeout": (0, 43_200),
    "delay": (0, 900),
    "retention": (60, 1_209_600),
    "receive_wait": (0, 20),
    "max_receive_count": (1, 1000),
    "max_message_size": (1024, 1_048_576),
}


@pytest.mark.parametrize(("field", "bounds"), RANGES.items())
@given(value=st.integers(-(10**7), 10**7))
def test_ranges_accept_exactly_the_documented_interval(
    field: str, bounds: tuple[int, int], value: int
) -> None:
    low, high = bounds
    if low <= value <= high:
        assert rules.validate_attribute_changes({field: value})[field] == value
    else:
        with pytest.raises(InvalidAttribute) as err:
            rules.validate_attribute_changes({field: value})
        assert err.value.field == field and err.value.value == value
        assert f"{low:g}" in err.value.allowed and f"{high:g}" in err.value.allowed


@given(st.text(min_size=1, max_size=200))
def test_body_characters_follow_the_sqs_rule(body: str) -> None:
    allowed = all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in body
    )
    if allowed:
        rules.check_body_chars(body)
    else:
        with pytest.raises(InvalidMessageContents):
            rules.check_body_chars(body)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True),
        st.one_of(
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), max_size=20),
            st.integers(),
            st.binary(max_size=20),
        ),
        max_size=10,
    )
)
def test_attributes_round_trip_with_their_types(attrs: dict[str, object]) -> None:
    text, _ = rules.encode_attributes(attrs)
    assert rules.decode_attributes(text) == attrs


def test_queue_names() -> None:
    assert rules.validate_queue_name("orders", None) is False
    assert rules.validate_queue_name("orders.fifo", None) is True
    for bad in ("", "a" * 81, "has space", "x.fifo.fifo", ".fifo"):
        with pytest.raises(InvalidAttribute):
            rules.validate_queue_name(bad, None)
    with pytest.raises(InvalidAttribute) as err:
        rules.validate_queue_name("orders", True)
    assert err.value.field == "fifo"
    rules.validate_queue_name("a" * 75 + ".fifo", None)


def test_message_size_counts_attributes() -> None:
    attrs = rules.QueueAttributes(max_message_size=1024)
    rules.prepare_message(attrs, "x" * 1024)
    with pytest.raises(MessageTooLarge) as err:
        rules.prepare_message(attrs, "x" * 1000, attributes={"k": "v" * 30})
    assert err.value.limit == 1024


def test_dead_letter_rules() -> None:
    std, fifo = rules.QueueAttributes(), rules.QueueAttributes(fifo=True)
    with pytest.raises(InvalidAttribute):
        rules.check_dead_letter("src", std, "dlq.fifo", fifo)
    deny = rules.QueueAttributes(redrive_allow={"redrivePermission": "denyAll"})
    with pytest.raises(InvalidAttribute):
        rules.check_dead_letter("src", std, "dlq", deny)
    only = rules.QueueAttributes(redrive_allow=rules.validate_redrive_allow(["other"]))
    with pytest.raises(InvalidAttribute):
        rules.check_dead_letter("src", std, "dlq", only)
    rules.check_dead_letter("other", std, "dlq", only)
