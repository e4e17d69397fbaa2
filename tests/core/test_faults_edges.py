"""Chaos faults' pure decisions (core/faults.py), the lines test_fault_rules.py leaves:
the serialised forms, percent selections, latency draws and error names."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import faults
from stormproof.core.faults import Fault, Placement
from stormproof.errors import ValidationError


def test_a_distribution_round_trips_as_a_plain_dict() -> None:
    spread = {"distribution": "uniform", "min": 0.1, "max": 0.5}
    fault = Fault("store", "latency", latency=spread, duration=5, name="slow")
    data = fault.to_dict()
    assert data["latency"] == spread and type(data["latency"]) is dict
    assert Fault.from_dict(data) == fault
    placed = faults.place("f1", fault, 100.0)
    assert Placement.from_dict(placed.to_dict()) == placed


@pytest.mark.parametrize("bad", [["store", "error"], "store", None])
def test_a_fault_must_be_a_mapping(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        Fault.from_dict(bad)  # type: ignore[arg-type]
    assert (err.value.field, err.value.value) == ("fault", bad)


@given(st.floats(0.001, 100))
def test_a_percent_selection_parses(percent: float) -> None:
    text = f"PERCENT({percent:.3f})"
    assert faults.selection(text) == ("PERCENT", float(f"{percent:.3f}"))


def test_fixed_or_no_latency_draws_nothing_at_random() -> None:
    class NoDraws:
        def random(self) -> float:
            raise AssertionError("drew")

        uniform = gauss = random  # type: ignore[assignment]

    assert faults.draw_latency(None, NoDraws()) == 0.0
    assert faults.draw_latency(2, NoDraws()) == 2.0


@given(st.integers(0, 2**32 - 1))
def test_normal_latency_is_clipped_to_its_range(seed: int) -> None:
    spread = {"distribution": "normal", "mean": 1.0, "stddev": 900.0}
    drawn = faults.draw_latency(spread, random.Random(seed))
    assert 0.0 <= drawn <= faults.MAX_LATENCY


def test_an_error_fault_raises_its_own_error_else_the_natural_one() -> None:
    assert faults.error_name(Fault("function:f", "error", error="KeyError")) == "KeyError"
    assert faults.error_name(Fault("function:f", "error")) == "ConnectionError"
    assert faults.error_name(Fault("store", "error")) == "stormproof.errors.StoreUnavailable"


@pytest.mark.parametrize("bad", ["", 12, None, "function:" + "f" * 1024])
def test_a_target_must_be_a_short_string(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        Fault(bad, "error")  # type: ignore[arg-type]
    assert err.value.field == "target" and err.value.value == bad
    assert "function:NAME" in err.value.allowed
