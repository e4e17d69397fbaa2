"""The alarm state machine (pure): OK -> ALARM after ``for_`` above threshold, back to OK."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import alarm, alarm_notice
from stormproof.core.alarm import ALARM, OK, AlarmState
from stormproof.errors import InvalidAttribute
from stormproof.telemetry import alarm_store

values = st.lists(st.tuples(st.floats(0.1, 5), st.integers(0, 3)), min_size=1, max_size=40)


def run(r: alarm.Rule, steps: list[tuple[float, int]]) -> list[tuple[float, int, AlarmState]]:
    """Evaluate each (elapsed, value) step on a fake clock from t=1000."""
    state, now, seen = AlarmState(), 1000.0, []
    for elapsed, value in steps:
        now += elapsed
        state = alarm.evaluate(r, state, value, now)
        seen.append((now, value, state))
    return seen


@given(values, st.integers(0, 2), st.floats(0, 10))
def test_alarm_iff_above_threshold_for_long_enough(
    steps: list[tuple[float, int]], threshold: int, for_: float
) -> None:
    r = alarm.rule("dlq_depth:q", threshold, for_)
    seen = run(r, steps)
    for i, (now, value, state) in enumerate(seen):
        if value <= threshold:
            assert state.state == OK and state.breaching_since is None
            continue
        start = i  # the first step of the current breaching run
        while start > 0 and seen[start - 1][1] > threshold:
            start -= 1
        assert state.breaching_since == seen[start][0]
        assert (state.state == ALARM) == (now - seen[start][0] >= for_)


@given(values)
def test_state_changes_stamp_the_time(steps: list[tuple[float, int]]) -> None:
    r = alarm.rule("oldest_age:q", 1, 2)
    previous = AlarmState()
    for now, _, state in run(r, steps):
        if alarm.changed(previous, state):
            assert state.changed_at == now and state.state != previous.state
        else:
            assert state.changed_at == previous.changed_at
        previous = state


def test_a_reason_names_the_metric_the_value_and_the_threshold() -> None:
    r = alarm.rule("dlq_depth:orders-dlq", 0, 5)
    s = alarm.evaluate(r, AlarmState(), 3, 100)
    assert s.state == OK  # breaching, not for 5 s yet
    s = alarm.evaluate(r, s, 4, 105)
    assert (s.state, s.reason) == (ALARM, "dlq_depth:orders-dlq = 4 > 0 for 5 s")
    s = alarm.evaluate(r, s, 0, 107)
    assert (s.state, s.reason, s.changed_at) == (OK, "dlq_depth:orders-dlq = 0 <= 0", 107)
    assert AlarmState.from_json(s.as_json()) == s


@given(st.lists(st.tuples(st.floats(0.5, 30), st.integers(0, 5)), max_size=30))
def test_a_counter_increase_is_over_the_window(steps: list[tuple[float, int]]) -> None:
    samples: tuple[tuple[float, float], ...] = ()
    now, total, history = 0.0, 0.0, [(0.0, 0.0)]
    samples = alarm.increase(samples, total, now, 60)[1]
    for elapsed, add in steps:
        now, total = now + elapsed, total + add
        rise, samples = alarm.increase(samples, total, now, 60)
        older = [t for t in history if t[0] < now - 60]
        base = older[-1] if older else history[0]
        history.append((now, total))
        assert rise == total - base[1]
        assert samples[-1] == (now, total)
        assert len(samples) <= len(history)


def test_a_counter_reset_counts_from_zero() -> None:
    rise, _ = alarm.increase(((0.0, 10.0),), 3.0, 5.0, 60)
    assert rise == 3.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metric": "dlq_depth"}, "metric"),
        ({"metric": "latency:q"}, "metric"),
        ({"metric": "dlq_depth: "}, "metric"),
        ({"metric": "dlq_depth:q", "threshold": -1}, "threshold"),
        ({"metric": "dlq_depth:q", "for_": 86_401}, "for_"),
        ({"metric": "throttles:f", "window": 5}, "window"),
        ({"metric": "dlq_depth:q", "threshold": True}, "threshold"),
    ],
)
def test_every_limit_is_validated(kwargs: dict[str, object], field: str) -> None:
    args = {"threshold": 0, **kwargs}
    with pytest.raises(InvalidAttribute) as info:
        alarm.rule(args.pop("metric"), **args)
    assert info.value.field == field


def test_a_dead_lettered_message_carries_its_event_and_redrive_command() -> None:
    fields = {
        "queue": "orders",
        "dlq": "orders-dlq",
        "message_id": "m1",
        "attempt": 3,
        "body": {"order": 7},
        "attributes": {},
        "sent_at": 0.0,
        "error_type": "ValueError",
        "error_message": "bad",
    }
    item = alarm_notice.incident("message.dead_lettered", fields, 1.5)
    assert item is not None
    assert item["event"] == {"order": 7}
    assert (item["error_type"], item["attempts"]) == ("ValueError", 3)
    assert item["redrive"] == "stormproof dlq redrive orders-dlq"
    assert item["dead_lettered_at"] == "1970-01-01T00:00:01.500+00:00"
    big = alarm_notice.incident(
        "message.dead_lettered", {**fields, "body": "x" * 20_000}, 2, link_base="http://h:1"
    )
    assert big is not None and big["event"] is None
    assert big["event_link"] == "http://h:1/ui/queues/orders-dlq/messages/m1"


def test_a_failed_execution_carries_its_input_and_redrive_command() -> None:
    fields = {
        "machine": "m",
        "execution_arn": "arn:stormproof:states:x:execution:m:e",
        "status": "FAILED",
        "error_type": "E",
        "error_message": "boom",
        "input": [1],
        "start_time": 0.0,
        "stop_time": 1.0,
    }
    item = alarm_notice.incident("execution.failed", fields, 1)
    assert item is not None and item["event"] == [1]
    assert item["redrive"] == "stormproof executions redrive arn:stormproof:states:x:execution:m:e"
    assert alarm_notice.subject_of("execution.failed", fields) == ("machine", "m")


def test_an_async_invocation_given_up_names_its_on_failure_queue() -> None:
    fields = {
        "function": "charge",
        "request_id": "r",
        "message_id": "m",
        "attempt": 3,
        "condition": "RetriesExhausted",
        "destination": "failures",
        "event": {"a": 1},
        "error": {"errorType": "KeyError", "errorMessage": "'a'"},
        "enqueued_at": 0.0,
    }
    assert alarm_notice.subject_of("invocation.dead_lettered", fields) == ("queue", "failures")
    item = alarm_notice.incident("invocation.dead_lettered", fields, 5)
    assert item is not None
    assert (item["error_type"], item["error_message"], item["event"]) == (
        "KeyError",
        "'a'",
        {"a": 1},
    )
    assert item["redrive"] == "stormproof dlq redrive failures"


@given(st.lists(st.lists(st.integers(), max_size=8), max_size=12))
def test_incidents_are_numbered_once_and_the_newest_kept(batches: list[list[int]]) -> None:
    value = None
    for batch in batches:
        value = alarm_store.add_incidents([{"n": n} for n in batch])(value)
    everything = [n for batch in batches for n in batch]
    if value is None:
        assert everything == []
        return
    assert value["seq"] == len(everything)
    kept = value["items"]
    assert [i["n"] for i in kept] == everything[-alarm_store.MAX_KEPT_INCIDENTS :]
    assert [i["seq"] for i in kept] == list(
        range(len(everything) - len(kept) + 1, len(everything) + 1)
    )


@given(st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 3)), max_size=20))
def test_the_lease_has_one_holder_until_it_lapses(steps: list[tuple[str, float]]) -> None:
    value: dict[str, float | str] | None = None
    now = 0.0
    for who, elapsed in steps:
        now += elapsed
        new = alarm_store.take_lease(who, now, 5)(value)
        if value is not None and value["holder"] != who and float(value["until"]) > now:
            assert new is None  # someone else holds a live lease
        else:
            assert new == {"holder": who, "until": now + 5}
            value = new
