"""Lint rules SP101-SP106 (core/lint.py) on pure specs, silencing and order, and the
tolerance of rules SP109/SP111 for what they do not judge."""

from __future__ import annotations

from stormproof.core import lint

DLQ = lint.QueueSpec("dlq", 60, 1_209_600, None, 10)


def found(
    queues: dict[str, lint.QueueSpec],
    functions: dict[str, lint.FunctionSpec],
    mappings: tuple[lint.MappingSpec, ...],
    **parts: object,
) -> list[tuple[str, str, str]]:
    spec = lint.AppSpec({"dlq": DLQ, **queues}, functions, mappings, **parts)  # type: ignore[arg-type]
    return [(f.code, f.severity, f.object) for f in lint.lint(spec)]


def queue(
    visibility: float = 600,
    dead_letter: str | None = "dlq",
    receives: int = 5,
    retention: float = 345_600,
) -> dict[str, lint.QueueSpec]:
    return {"q": lint.QueueSpec("q", visibility, retention, dead_letter, receives)}


F = {"f": lint.FunctionSpec("f", 30, "dlq")}
M = (lint.MappingSpec("q", "f", 10),)


def test_a_well_configured_app_has_no_findings() -> None:
    assert found(queue(), F, M) == []


def test_sp101_visibility_shorter_than_timeout_and_batch_window_is_an_error() -> None:
    spec = lint.AppSpec({"q": queue(35)["q"], "dlq": DLQ}, F, M)
    [finding] = lint.lint(spec)
    assert (finding.code, finding.severity, finding.object) == ("SP101", lint.ERROR, "queue:q")
    assert "visibility timeout 35 s < function 'f' timeout 30 s + batch window 10 s" in (
        finding.message
    )
    assert finding.fix == "set visibility_timeout >= 190"


def test_sp102_visibility_under_six_timeouts_is_a_warning() -> None:
    spec = lint.AppSpec({"q": queue(100)["q"], "dlq": DLQ}, F, M)
    [finding] = lint.lint(spec)
    assert (finding.code, finding.severity) == ("SP102", lint.WARNING)
    assert finding.fix == "set visibility_timeout >= 180"


def test_sp103_a_consumed_queue_without_a_dlq() -> None:
    assert found(queue(dead_letter=None), F, M) == [("SP103", lint.WARNING, "queue:q")]


def test_sp104_and_sp105_few_receives_and_a_dlq_that_expires_first() -> None:
    result = found(queue(receives=2, retention=2_000_000), F, M)
    assert result == [("SP105", lint.WARNING, "queue:dlq"), ("SP104", lint.WARNING, "queue:q")]


def test_sp106_an_async_function_without_on_failure() -> None:
    lonely = {"g": lint.FunctionSpec("g", 5, None)}
    assert found(queue(), {**F, **lonely}, M) == [("SP106", lint.WARNING, "function:g")]
    assert found(queue(), {"f": lint.FunctionSpec("f", 30, None)}, M) == []  # a consumer


def test_mappings_to_undeclared_objects_are_skipped() -> None:
    ghost = (lint.MappingSpec("nowhere", "f", 0), lint.MappingSpec("q", "ghost", 0))
    assert found(queue(), F, (*M, *ghost)) == []


def test_a_silenced_finding_is_left_out_and_errors_come_first() -> None:
    mixed = found(queue(35, dead_letter=None), F, M)
    assert mixed == [("SP101", lint.ERROR, "queue:q"), ("SP103", lint.WARNING, "queue:q")]
    quiet = found(queue(35, dead_letter=None), F, M, silenced={"queue:q": {"SP103": "on purpose"}})
    assert quiet == [("SP101", lint.ERROR, "queue:q")]


def test_machines_with_odd_states_and_functions_without_a_cap_are_not_judged() -> None:
    machine = {"StartAt": "A", "States": {"A": "not a state", "B": {"Type": "Pass", "End": True}}}
    assert found(queue(), F, M, machines={"m": machine}) == []
    capped = {"f": lint.FunctionSpec("f", 30, "dlq", concurrency=None)}
    assert found(queue(), capped, (lint.MappingSpec("q", "f", 10, max_concurrency=None),)) == []
