"""The pure decisions of chaos faults (core/faults.py): validation, windows, selection,
per-call draws and latency, with Hypothesis and fake clocks (plain numbers)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof import Fault as PublicFault
from stormproof.chaos import Fault
from stormproof.core import faults as decide
from stormproof.errors import InvalidAttribute, ValidationError

durations = st.floats(min_value=0.001, max_value=86400.0)
starts = st.floats(min_value=0.0, max_value=86400.0)
nows = st.floats(min_value=0.0, max_value=1e10)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
probabilities = st.floats(min_value=0.0, max_value=1.0)


def test_the_public_name_is_the_chaos_fault() -> None:
    assert PublicFault is Fault


@given(nows, starts, durations, st.floats(min_value=-1e5, max_value=2e5))
def test_a_fault_is_active_exactly_inside_its_window(
    injected: float, start_after: float, duration: float, offset: float
) -> None:
    fault = Fault("function:f", "error", start_after=start_after, duration=duration)
    placement = decide.place("id", fault, injected)
    now = injected + offset
    inside = injected + start_after <= now < injected + start_after + duration
    assert decide.is_active(placement, now) == inside


@given(nows, durations)
def test_every_fault_expires_on_its_own(injected: float, duration: float) -> None:
    placement = decide.place(
        "x", Fault("store", "latency", latency=0.1, duration=duration), injected
    )
    assert not decide.is_active(placement, placement.expires_at)
    assert not decide.is_active(placement, injected + 86400 * 2 + 1)


@given(st.integers(min_value=1, max_value=100_000))
def test_count_selection_parses(n: int) -> None:
    assert decide.selection(f"COUNT({n})") == ("COUNT", n)


@pytest.mark.parametrize("bad", ["COUNT(0)", "PERCENT(0)", "PERCENT(101)", "SOME", "", "count(1)"])
def test_bad_selections_name_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        Fault("function:f", "error", selection=bad)
    assert err.value.field == "selection" and err.value.value == bad
    assert "PERCENT(p)" in err.value.allowed


@given(st.floats(min_value=1.0, max_value=100.0), st.lists(st.uuids(), min_size=1, max_size=30))
def test_percent_is_stable_per_process_and_fault(percent: float, ids: list[Any]) -> None:
    for i in ids:
        first = decide.percent_obeys(str(i), "fault-1", percent)
        assert decide.percent_obeys(str(i), "fault-1", percent) == first
    assert all(decide.percent_obeys(str(i), "fault-1", 100.0) for i in ids)


def test_percent_obeys_about_that_share_of_processes() -> None:
    obeying = sum(decide.percent_obeys(f"instance-{i}", "f", 25.0) for i in range(4000))
    assert 800 < obeying < 1200


@given(probabilities, seeds)
def test_a_seed_makes_the_per_call_draws_reproducible(probability: float, seed: int) -> None:
    def schedule() -> list[bool]:
        rng = random.Random(seed)
        return [decide.hits(probability, rng) for _ in range(50)]

    assert schedule() == schedule()


@given(seeds)
def test_probability_one_always_hits_and_zero_never(seed: int) -> None:
    rng = random.Random(seed)
    assert all(decide.hits(1.0, rng) for _ in range(20))
    assert not any(decide.hits(0.0, rng) for _ in range(20))


@given(st.floats(min_value=0, max_value=900), st.floats(min_value=0, max_value=900), seeds)
def test_uniform_latency_stays_within_its_bounds(a: float, b: float, seed: int) -> None:
    low, high = min(a, b), max(a, b)
    spec = {"distribution": "uniform", "min": low, "max": high}
    Fault("function:f", "latency", latency=spec)
    assert low <= decide.draw_latency(spec, random.Random(seed)) <= high


@given(st.floats(min_value=0, max_value=900), st.floats(min_value=0, max_value=900), seeds)
def test_normal_latency_is_never_negative(mean: float, stddev: float, seed: int) -> None:
    spec = {"distribution": "normal", "mean": mean, "stddev": stddev}
    assert 0 <= decide.draw_latency(spec, random.Random(seed)) <= decide.MAX_LATENCY


def test_http_targets_match_by_url_prefix_others_exactly() -> None:
    assert decide.matches("http-target:http://pay.example", "http-target:http://pay.example/v1")
    assert not decide.matches("http-target:http://pay.example/v2", "http-target:http://pay.x")
    assert decide.matches("function:f", "function:f")
    assert not decide.matches("function:f", "function:fg")


@given(
    st.sampled_from(["function:f", "route:POST /b", "store", "webhook:/b"]),
    st.sampled_from(decide.ACTIONS),
    probabilities,
    seeds,
)
def test_to_dict_and_from_dict_round_trip(target: str, action: str, p: float, seed: int) -> None:
    latency = 0.5 if action == "latency" else None
    kind = target.split(":")[0]
    if (kind == "store" and action not in ("error", "latency", "timeout")) or action == "crash":
        return
    fault = Fault(target, action, latency=latency, probability=p, seed=seed, name="n")
    assert Fault.from_dict(fault.to_dict()) == fault
    placement = decide.place("abc", fault, 10.0)
    assert decide.Placement.from_dict(placement.to_dict()) == placement


CASES: list[tuple[dict[str, Any], str]] = [
    ({"target": "nope:x", "action": "error"}, "target"),
    ({"target": "function:", "action": "error"}, "target"),
    ({"target": "store:x", "action": "error"}, "target"),
    ({"target": "route:/bookings", "action": "error"}, "target"),
    ({"target": "bus-target:default", "action": "error"}, "target"),
    ({"target": "function:f", "action": "explode"}, "action"),
    ({"target": "worker", "action": "error"}, "action"),
    ({"target": "store", "action": "drop"}, "action"),
    ({"target": "function:f", "action": "error", "status": 503}, "status"),
    ({"target": "route:POST /b", "action": "error", "status": 200}, "status"),
    ({"target": "route:POST /b", "action": "error", "status": 503, "error": "KeyError"}, "status"),
    ({"target": "function:f", "action": "latency", "error": "KeyError"}, "error"),
    ({"target": "function:f", "action": "error", "error": "NoSuchBuiltin"}, "error"),
    ({"target": "function:f", "action": "error", "error": "not a name"}, "error"),
    ({"target": "function:f", "action": "latency"}, "latency"),
    ({"target": "function:f", "action": "latency", "latency": -1}, "latency"),
    ({"target": "function:f", "action": "latency", "latency": 901}, "latency"),
    ({"target": "function:f", "action": "latency", "latency": {"distribution": "x"}}, "latency"),
    (
        {
            "target": "function:f",
            "action": "latency",
            "latency": {"distribution": "uniform", "min": 2, "max": 1},
        },
        "latency.max",
    ),
    ({"target": "function:f", "action": "error", "probability": 1.5}, "probability"),
    ({"target": "function:f", "action": "error", "duration": 0}, "duration"),
    ({"target": "function:f", "action": "error", "duration": 86401}, "duration"),
    ({"target": "function:f", "action": "error", "start_after": -1}, "start_after"),
    ({"target": "function:f", "action": "error", "seed": 1.5}, "seed"),
    ({"target": "function:f", "action": "error", "name": "x" * 300}, "name"),
    ({"target": "function:f", "action": "error", "colour": "red"}, "colour"),
    ({"action": "error"}, "target"),
]


@pytest.mark.parametrize(("data", "field"), CASES)
def test_from_dict_names_the_field_the_value_and_the_range(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        Fault.from_dict(data)
    assert err.value.field == field
    assert isinstance(err.value, InvalidAttribute) and err.value.allowed
    assert field in str(err.value) and "allowed" in str(err.value)


def test_defaults_are_the_contracts() -> None:
    fault = Fault(target="function:reserve_payment", action="error", error="ConnectionError")
    assert fault.to_dict() == {
        "target": "function:reserve_payment",
        "action": "error",
        "error": "ConnectionError",
        "status": None,
        "latency": None,
        "probability": 1.0,
        "selection": "ALL",
        "start_after": 0.0,
        "duration": 60.0,
        "seed": None,
        "name": None,
    }
    assert decide.error_name(Fault("store", "error")) == "stormproof.errors.StoreUnavailable"
    assert decide.error_name(Fault("function:f", "error")) == "ConnectionError"
