"""Partial batch responses (spec §2.2): both tables of core/batch_response.py, case by case."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.batch_response import (
    BatchItem,
    InvalidResponse,
    decide_batch,
    fifo_returns,
    parse_response,
)

IDS = ("m1", "m2", "m3")
ITEMS = [BatchItem(i) for i in IDS]


def _fail(*ids: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


# --- table 1: complete success and partial failure ------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(None, id="None"),
        pytest.param({}, id="empty dict"),
        pytest.param({"batchItemFailures": []}, id="empty list"),
        pytest.param({"batchItemFailures": None}, id="null list"),
        pytest.param({"other": 1}, id="dict without batchItemFailures"),
        pytest.param({"batchItemFailures": ()}, id="empty tuple"),
    ],
)
def test_complete_success(response: Any) -> None:
    assert parse_response(response, IDS) == frozenset()
    d = decide_batch(ITEMS, raised=False, response=response, report_batch_item_failures=True)
    assert (d.delete, d.retry, d.outcome) == (IDS, (), "success")


def test_listed_ids_return_the_rest_are_deleted() -> None:
    d = decide_batch(ITEMS, raised=False, response=_fail("m2"), report_batch_item_failures=True)
    assert d.delete == ("m1", "m3")
    assert d.retry == ("m2",)
    assert d.outcome == "partial"


def test_duplicate_identifiers_count_once() -> None:
    assert parse_response(_fail("m1", "m1"), IDS) == frozenset({"m1"})


def test_extra_keys_beside_item_identifier_are_ignored() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m3", "reason": "x"}]}
    assert parse_response(response, IDS) == frozenset({"m3"})


def test_every_id_listed_is_a_failure_of_the_batch() -> None:
    d = decide_batch(ITEMS, raised=False, response=_fail(*IDS), report_batch_item_failures=True)
    assert (d.delete, d.retry, d.outcome) == ((), IDS, "failure")


# --- table 2: complete failure -----------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        pytest.param([], id="a list"),
        pytest.param("ok", id="a string"),
        pytest.param(42, id="a number"),
        pytest.param(True, id="a bool"),
        pytest.param({"batchItemFailures": "m1"}, id="batchItemFailures not a list"),
        pytest.param({"batchItemFailures": {"itemIdentifier": "m1"}}, id="an object, not a list"),
        pytest.param({"batchItemFailures": ["m1"]}, id="an item that is not an object"),
        pytest.param({"batchItemFailures": [{"itemId": "m1"}]}, id="wrong key name"),
        pytest.param({"batchItemFailures": [{"ItemIdentifier": "m1"}]}, id="wrong key case"),
        pytest.param({"batchItemFailures": [{}]}, id="an item without keys"),
        pytest.param(_fail(""), id="empty identifier"),
        pytest.param(_fail(None), id="null identifier"),
        pytest.param(_fail("nope"), id="identifier not in the batch"),
        pytest.param(_fail(1), id="identifier not a string"),
        pytest.param(_fail("m1", "nope"), id="one good and one unknown identifier"),
    ],
)
def test_complete_failure(response: Any) -> None:
    assert isinstance(parse_response(response, IDS), InvalidResponse)
    d = decide_batch(ITEMS, raised=False, response=response, report_batch_item_failures=True)
    assert (d.delete, d.retry, d.outcome) == ((), IDS, "failure")
    assert d.reason.startswith("invalid batch response")


def test_an_exception_fails_the_whole_batch() -> None:
    for report in (True, False):
        d = decide_batch(ITEMS, raised=True, report_batch_item_failures=report)
        assert (d.delete, d.retry, d.outcome) == ((), IDS, "failure")


@pytest.mark.parametrize("response", [None, [], "x", _fail("m1"), _fail("nope")])
def test_without_the_feature_the_response_is_ignored(response: Any) -> None:
    d = decide_batch(ITEMS, raised=False, response=response, report_batch_item_failures=False)
    assert (d.delete, d.retry, d.outcome) == (IDS, (), "success")


# --- FIFO ----------------------------------------------------------------------------


def test_fifo_returns_the_later_messages_of_a_failed_group() -> None:
    items = [
        BatchItem("a1", "A"),
        BatchItem("b1", "B"),
        BatchItem("a2", "A"),
        BatchItem("b2", "B"),
        BatchItem("a3", "A"),
    ]
    d = decide_batch(
        items, raised=False, response=_fail("a2"), report_batch_item_failures=True, fifo=True
    )
    assert d.retry == ("a2", "a3")
    assert d.delete == ("a1", "b1", "b2")


def test_fifo_rule_is_not_applied_to_standard_queues() -> None:
    items = [BatchItem("a1", None), BatchItem("a2", None)]
    assert fifo_returns(items, frozenset({"a1"})) == frozenset({"a1"})


@st.composite
def _batches(draw: st.DrawFn) -> tuple[list[BatchItem], frozenset[str]]:
    groups = draw(st.lists(st.sampled_from("ABCD"), min_size=1, max_size=12))
    items = [BatchItem(f"m{i}", g) for i, g in enumerate(groups)]
    failed = draw(st.sets(st.sampled_from([i.message_id for i in items])))
    return items, frozenset(failed)


@given(_batches())
def test_fifo_returns_a_suffix_of_each_group(batch: tuple[list[BatchItem], frozenset[str]]) -> None:
    items, failed = batch
    out = fifo_returns(items, failed)
    assert failed <= out
    for group in {i.group_id for i in items}:
        flags = [i.message_id in out for i in items if i.group_id == group]
        # Once a message of the group returns, every later one returns too.
        assert flags == sorted(flags)
        members = [i.message_id for i in items if i.group_id == group]
        if not failed & set(members):
            assert not out & set(members)


@given(_batches(), st.booleans())
def test_delete_and_retry_partition_the_batch(
    batch: tuple[list[BatchItem], frozenset[str]], fifo: bool
) -> None:
    items, failed = batch
    d = decide_batch(
        items,
        raised=False,
        response=_fail(*sorted(failed)),
        report_batch_item_failures=True,
        fifo=fifo,
    )
    ids = [i.message_id for i in items]
    assert sorted(d.delete + d.retry) == sorted(ids)
    assert not set(d.delete) & set(d.retry)
    assert set(failed) <= set(d.retry)
    # Both keep batch order.
    assert list(d.delete) == [i for i in ids if i in d.delete]
    assert list(d.retry) == [i for i in ids if i in d.retry]
