"""Whole-string name matching and the reserved internal prefixes (issue 12 item 4)."""

from __future__ import annotations

import re

import pytest

from stormproof.bus import publish as bus_publish
from stormproof.core import names
from stormproof.errors import InvalidAttribute
from stormproof.functions import function as functions
from stormproof.machines import step_messages


def test_is_name_refuses_a_trailing_newline_that_dollar_accepts() -> None:
    pattern = re.compile(r"[a-z]+")
    assert re.match(r"^[a-z]+$", "orders\n")  # the hole: '$' matches before a final \n
    assert names.is_name(pattern, "orders")
    assert not names.is_name(pattern, "orders\n")
    assert not names.is_name(pattern, 5)


@pytest.mark.parametrize("name", ["_fn-work", "_bus-default", "_sfn-steps", "_sfn-x"])
def test_reserved_prefixes_are_refused_with_the_field_and_the_prefix(name: str) -> None:
    with pytest.raises(InvalidAttribute) as info:
        names.refuse_reserved("name", name)
    assert info.value.field == "name"
    assert info.value.value == name
    assert "reserved" in info.value.allowed


@pytest.mark.parametrize("name", ["fn-work", "_fnwork", "bus-x", "_", "orders"])
def test_other_names_pass(name: str) -> None:
    names.refuse_reserved("name", name)


def test_every_internal_queue_name_uses_a_declared_prefix() -> None:
    internal = [
        functions.INTERNAL_QUEUE_PREFIX + "f",
        bus_publish.delivery_queue("default"),
        step_messages.STEPS_QUEUE,
        step_messages.TASKS_QUEUE,
    ]
    for queue in internal:
        assert names.reserved_prefix(queue) is not None, queue
