"""Experiment files: validation names the field, the value and the range; the plan; the
fault schedule (pure, Hypothesis); the small numeric helpers of the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.errors import InvalidAttribute
from stormproof.experiments import load_experiment, parse
from stormproof.experiments.loading import scaled
from stormproof.experiments.probes import percentile
from stormproof.experiments.schedule import injections, plan_lines, windows
from stormproof.experiments.timeline import peak_to_mean

CHAOS = Path(__file__).resolve().parents[2] / "examples" / "chaos"
FAULT = {"target": "dependency:payments", "action": "error", "status": 503, "duration": 5}


def base(**extra: Any) -> dict[str, Any]:
    return {"title": "t", "duration": 10, **extra}


@pytest.mark.parametrize(
    ("data", "field", "allowed"),
    [
        ({"title": "t"}, "duration", "> 0"),
        (base(duration=7200), "duration", "<= 3600"),
        (base(recovery=-1), "recovery", ">= 0"),
        (base(sample_interval=0.001), "sample_interval", ">= 0.05"),
        (base(load=[{"kind": "queue", "target": "q", "rate": 0}]), "load[0].rate", "> 0"),
        (base(load=[{"kind": "queue", "target": "q", "rate": 1e6}]), "load[0].rate", "<= 5000"),
        (base(load=[{"kind": "mail", "target": "q", "rate": 1}]), "load[0].kind", "queue"),
        (base(load=[{"kind": "route", "target": "/x", "rate": 1}]), "load[0].target", "METHOD"),
        (
            base(load=[{"kind": "queue", "target": "q", "rate": 1, "duration": 11}]),
            "load[0].duration",
            "<= 10",
        ),
        (base(faults=[{"at": 11, "fault": FAULT}]), "faults[0].at", "<= 10"),
        (
            base(faults=[{"at": 1, "fault": {**FAULT, "duration": 0}}]),
            "faults[0].fault.duration",
            "> 0",
        ),
        (
            base(faults=[{"at": 1, "fault": {**FAULT, "duration": 90000}}]),
            "faults[0].fault.duration",
            "<= 86400",
        ),
        (
            base(faults=[{"at": 1, "fault": {**FAULT, "action": "melt"}}]),
            "faults[0].fault.action",
            "crash",
        ),
        (
            base(faults=[{"at": 1, "fault": {**FAULT, "probability": 2}}]),
            "faults[0].fault.probability",
            "<= 1",
        ),
        (base(steady_state=[{"probe": "dlq_depth"}]), "steady_state[0].queue", "non-empty"),
        (base(steady_state=[{"probe": "error_rate", "max": 3}]), "steady_state[0].max", "0 to 1"),
        (base(steady_state=[{"probe": "vibes"}]), "steady_state[0].probe", "dlq_depth"),
        (
            base(stop_conditions=[{"probe": "dlq_depth", "queue": "d", "maxx": 1}]),
            "stop_conditions[0].maxx",
            "keys",
        ),
        (base(workers={"processes": 99}), "workers.processes", "0 to 16"),
        (base(durration=3), "durration", "keys"),
    ],
)
def test_invalid_files_name_the_field_value_and_range(
    data: dict[str, Any], field: str, allowed: str
) -> None:
    with pytest.raises(InvalidAttribute) as info:
        parse(data)
    assert info.value.field == field
    assert allowed in info.value.allowed


@pytest.mark.parametrize("path", sorted(CHAOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_experiment_is_valid_and_has_a_plan(path: Path) -> None:
    exp = load_experiment(path)
    lines = plan_lines(exp)
    assert lines[0] == f"experiment: {exp.title}"
    assert any(line.startswith("3. faults") for line in lines)


def test_json_files_load_and_time_scale_shortens_every_time(tmp_path: Path) -> None:
    data = base(
        faults=[{"at": 4, "every": 2, "fault": FAULT}],
        load=[{"kind": "queue", "target": "q", "rate": 50, "start": 2}],
    )
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data))
    exp = load_experiment(path, time_scale=0.5)
    assert exp.duration == 5 and exp.faults[0].at == 2 and exp.faults[0].every == 1
    assert exp.faults[0].fault["duration"] == 2.5
    assert exp.load[0].rate == 50 and exp.load[0].start == 1  # rates are not times
    with pytest.raises(InvalidAttribute, match="time_scale"):
        load_experiment(path, time_scale=2)
    assert scaled([{"at": 1}], 0.1) == [{"at": 0.1}]


def test_bad_yaml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("title: [unclosed\n")
    with pytest.raises(Exception, match="not valid YAML"):
        load_experiment(path)


steps = st.lists(
    st.fixed_dictionaries(
        {
            "at": st.floats(0, 10),
            "every": st.one_of(st.none(), st.floats(0.05, 5)),
            "fault": st.fixed_dictionaries(
                {
                    "target": st.just("dependency:x"),
                    "action": st.sampled_from(["error", "latency"]),
                    "duration": st.floats(0.01, 30),
                    "start_after": st.floats(0, 3),
                }
            ),
        }
    ),
    max_size=4,
)


@given(steps, st.one_of(st.none(), st.integers(0, 2**32)))
def test_schedule_is_ordered_bounded_and_reproducible(faults: list[Any], seed: int | None) -> None:
    exp = parse(base(faults=faults, seed=seed))
    planned = injections(exp)
    assert planned == injections(exp)  # the same file, the same schedule and seeds
    assert [i.offset for i in planned] == sorted(i.offset for i in planned)
    assert all(0 <= i.offset <= exp.duration for i in planned)
    assert len(planned) >= len(faults)
    if seed is not None:
        assert all(isinstance(i.fault["seed"], int) for i in planned)
    for start, end, _ in windows(planned, stopped_at=5.0):
        assert start <= end and end <= max(5.0, start)


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=200), st.floats(0, 1))
def test_percentile_is_a_sample_value_within_range(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert p in values
    assert min(values) <= p <= max(values)


def test_peak_to_mean() -> None:
    assert peak_to_mean([0, 0, 0]) is None
    assert peak_to_mean([0, 4, 0, 0, 0, 4, 0]) == 2.5  # the span is first to last non-zero
    assert peak_to_mean([2, 2, 2]) == 1.0
