"""Circuit-breaker decisions: policy validation, trips, recovery, and a stateful model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from stormproof.core import breaker as cb
from stormproof.core.breaker import FAILURE, SUCCESS, Breaker, Counts, State
from stormproof.errors import InvalidAttribute

P = cb.policy(minimum_calls=4, window=10, open_for=5, open_for_max=40, half_open_calls=2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_rate", 0),
        ("failure_rate", 1.5),
        ("failure_rate", True),
        ("minimum_calls", 0),
        ("window", 0.5),
        ("consecutive_failures", 0),
        ("slow_call", -1),
        ("open_for", 0),
        ("open_for_max", 1),
        ("half_open_calls", 0),
        ("probe_timeout", 0),
    ],
)
def test_invalid_policy_names_field_and_range(field: str, value: object) -> None:
    with pytest.raises(InvalidAttribute) as err:
        cb.policy(**{field: value})
    assert err.value.field == field
    assert err.value.value == value
    assert err.value.allowed


def test_failure_rate_needs_minimum_calls() -> None:
    b = Breaker()
    for _ in range(3):
        b = cb.record(b, FAILURE, 0.0, P, 0.0)
    assert b.state is State.CLOSED  # 3 < minimum_calls
    b = cb.record(b, FAILURE, 0.0, P, 0.0)
    assert b.state is State.OPEN
    assert b.open_until == 5.0
    assert "4 of 4" in b.reason


def test_ten_failures_in_a_thousand_calls_do_not_trip() -> None:
    b = cb.record(Breaker(), Counts(990, 0, 0), 0.0, cb.policy(), 0.0)
    b = cb.record(b, Counts(10, 10, 10), 1.0, cb.policy(), 0.0)
    assert b.state is State.CLOSED


def test_window_forgets_old_calls() -> None:
    b = cb.record(Breaker(), Counts(3, 3, 3), 0.0, P, 0.0)
    b = cb.record(b, Counts(1, 1, 1), 20.0, P, 0.0)  # the first three left the window
    assert b.state is State.CLOSED
    assert b.calls == 1


def test_consecutive_failures_trip() -> None:
    p = cb.policy(consecutive_failures=3, minimum_calls=100)
    b = cb.record(Breaker(), Counts(5, 2, 2), 0.0, p, 0.0)
    assert b.consecutive == 2
    b = cb.record(b, Counts(1, 0, 0), 0.0, p, 0.0)
    assert b.consecutive == 0
    b = cb.record(b, Counts(3, 3, 3), 0.0, p, 0.0)
    assert b.state is State.OPEN
    assert "3 consecutive" in b.reason


def test_counts_merge_like_the_calls_in_sequence() -> None:
    assert Counts(2, 1, 1).then(Counts(2, 2, 2)) == Counts(4, 3, 3)
    assert Counts(2, 2, 2).then(Counts(2, 1, 0)) == Counts(4, 3, 0)


def test_slow_calls_count_as_failures() -> None:
    p = cb.policy(slow_call=1.0)
    assert cb.classify(False, 2.0, p) == FAILURE
    assert cb.classify(False, 0.5, p) == SUCCESS
    assert cb.classify(True, 0.0, cb.policy()) == FAILURE
    assert cb.classify(False, 99.0, cb.policy()) == SUCCESS


def test_open_time_grows_with_jitter_to_the_max() -> None:
    assert cb.open_duration(1, P, 0.99) == 5.0
    assert 10.0 <= cb.open_duration(2, P, 0.5) <= 12.5
    assert cb.open_duration(3, P, 0.0) == 20.0
    assert cb.open_duration(30, P, 0.9) == 40.0


def _tripped(now: float = 0.0) -> Breaker:
    return cb.trip(Breaker(), now, P, 0.0, "test")


def test_open_refuses_until_its_time_then_admits_probes() -> None:
    b = _tripped()
    a = cb.admit(b, 4.9, P, 0.0, "p1")
    assert not a.allowed and a.retry_at == 5.0
    a1 = cb.admit(b, 5.0, P, 0.0, "p1")
    assert a1.allowed and a1.probe and a1.breaker.state is State.HALF_OPEN
    a2 = cb.admit(a1.breaker, 5.0, P, 0.0, "p2")
    assert a2.allowed and a2.probe
    a3 = cb.admit(a2.breaker, 5.0, P, 0.0, "p3")
    assert not a3.allowed and a3.retry_at == 5.0 + P.probe_timeout


def test_probes_success_closes_failure_reopens_longer() -> None:
    b = cb.admit(cb.admit(_tripped(), 5, P, 0, "a").breaker, 5, P, 0, "b").breaker
    ok = cb.finish_probe(b, "a", False, 6, P, 0)
    assert ok.state is State.HALF_OPEN and ok.successes == 1
    assert not cb.admit(ok, 6, P, 0, "c").allowed  # "a"'s permit is used, not freed
    closed = cb.finish_probe(ok, "b", False, 6, P, 0)
    assert closed.state is State.CLOSED and closed.trips == 0
    reopened = cb.finish_probe(ok, "b", True, 6, P, 0)
    assert reopened.state is State.OPEN and reopened.trips == 2
    assert reopened.open_until == 16.0
    assert cb.finish_probe(closed, "b", True, 7, P, 0) == closed  # unknown probe: ignored


def test_probe_that_never_reports_reopens() -> None:
    b = cb.admit(_tripped(), 5, P, 0, "a").breaker
    later = 5 + P.probe_timeout
    assert cb.expire(b, later - 0.1, P, 0) == b
    a = cb.admit(b, later, P, 0, "b")
    assert not a.allowed and a.breaker.state is State.OPEN
    assert a.breaker.reason == "probe timed out"


def test_cancelled_probe_frees_its_permit() -> None:
    p = cb.policy(half_open_calls=1)
    b = cb.admit(cb.trip(Breaker(), 0, p, 0, "t"), 30, p, 0, "a").breaker
    assert not cb.admit(b, 30, p, 0, "b").allowed
    assert cb.admit(cb.cancel_probe(b, "a"), 30, p, 0, "b").allowed


def test_outcomes_while_not_closed_change_nothing() -> None:
    b = _tripped()
    assert cb.record(b, Counts(10, 10, 10), 1, P, 0) == b
    assert cb.record(Breaker(), Counts(), 1, P, 0) == Breaker()


def test_force_open_and_closed() -> None:
    b = cb.force(Breaker(), State.OPEN, 0, "ops: isolate", hold=100)
    assert b.state is State.OPEN and b.open_until == 100 and b.reason == "ops: isolate"
    assert cb.force(b, State.CLOSED, 1, "ops: reset") == Breaker(reason="ops: reset")


@given(
    st.builds(
        Breaker,
        st.sampled_from(State),
        st.floats(0, 1e9),
        st.integers(0, 50),
        st.integers(0, 50),
        st.lists(
            st.tuples(st.floats(0, 1e9), st.integers(0, 99), st.integers(0, 99)), max_size=3
        ).map(tuple),
        st.lists(st.tuples(st.text(max_size=5), st.floats(0, 1e9)), max_size=3).map(tuple),
        st.integers(0, 5),
        st.text(max_size=10),
    )
)
def test_state_round_trips_through_dict(b: Breaker) -> None:
    assert cb.from_dict(cb.to_dict(b)) == b


class BreakerModel(RuleBasedStateMachine):
    """Random calls, outcomes and clock moves against the invariants of the issue."""

    def __init__(self) -> None:
        super().__init__()
        self.p = cb.policy(
            minimum_calls=3,
            window=10,
            consecutive_failures=4,
            open_for=5,
            open_for_max=30,
            half_open_calls=2,
            probe_timeout=8,
        )
        self.now = 0.0
        self.b = Breaker()
        self.held: list[str] = []  # probe permits given out and not yet reported
        self.admitted_this_window = 0
        self.next_id = 0

    @rule(dt=st.floats(0, 12))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule(u=st.floats(0, 0.999))
    def call(self, u: float) -> None:
        before = cb.expire(self.b, self.now, self.p, u)
        self.next_id += 1
        a = cb.admit(self.b, self.now, self.p, u, f"p{self.next_id}")
        if before.state is State.OPEN:
            # an open breaker never admits before its time
            assert a.allowed == (self.now >= before.open_until)
        if a.probe:
            if before.state is not State.HALF_OPEN:
                self.admitted_this_window = 0
                self.held = []
            self.admitted_this_window += 1
            self.held.append(f"p{self.next_id}")
        if not a.allowed:
            assert a.retry_at is not None
        self.b = a.breaker

    @rule(outcome=st.sampled_from([SUCCESS, FAILURE, Counts(5, 2, 1)]), u=st.floats(0, 0.999))
    def report(self, outcome: Counts, u: float) -> None:
        self.b = cb.record(self.b, outcome, self.now, self.p, u)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data(), failed=st.booleans(), u=st.floats(0, 0.999))
    def report_probe(self, data: st.DataObject, failed: bool, u: float) -> None:
        pid = data.draw(st.sampled_from(self.held))
        self.held.remove(pid)
        self.b = cb.finish_probe(self.b, pid, failed, self.now, self.p, u)

    @invariant()
    def half_open_never_admits_more_than_its_probes(self) -> None:
        assert self.admitted_this_window <= self.p.half_open_calls
        if self.b.state is State.HALF_OPEN:
            assert len(self.b.probes) + self.b.successes <= self.p.half_open_calls
            assert all(exp <= self.now + self.p.probe_timeout for _, exp in self.b.probes)

    @invariant()
    def open_time_is_bounded(self) -> None:
        if self.b.state is State.OPEN:
            # open_until is now + duration: subtracting now again may add an ulp
            assert self.b.open_until - self.now <= self.p.open_for_max + 1e-9


TestBreakerModel = BreakerModel.TestCase
TestBreakerModel.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
