"""Lint rules SP107-SP115 on pure specs: each fires on its problem, names the numbers, and
stays quiet on the fixed form."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import lint, lint_rules

Q = {
    "q": lint.QueueSpec("q", 600, 345_600, "dlq", 5),
    "r": lint.QueueSpec("r", 600, 345_600, "dlq", 5),
    "dlq": lint.QueueSpec("dlq", 60, 1_209_600, None, 10),
}


def codes(**parts: Any) -> set[tuple[str, str]]:
    spec = lint.AppSpec(
        parts.pop("queues", Q), parts.pop("functions", {}), parts.pop("mappings", ()), **parts
    )
    return {(f.code, f.object) for f in lint.lint(spec)}


def fn(name: str, **kw: Any) -> dict[str, lint.FunctionSpec]:
    return {name: lint.FunctionSpec(name, kw.pop("timeout", 10), kw.pop("on_failure", "dlq"), **kw)}


def test_sp107_async_retries_past_the_event_age() -> None:
    assert codes(functions=fn("f", timeout=1, max_event_age=60)) == {("SP107", "function:f")}
    assert codes(functions=fn("f", timeout=1, max_event_age=300)) == set()
    assert codes(functions=fn("f", timeout=1, max_event_age=60, max_retry_attempts=0)) == set()


@given(st.integers(0, 185), st.integers(60, 86_400))
def test_sp107_bus_retries_iff_their_span_passes_the_age(retries: int, age: int) -> None:
    target = lint.TargetSpec("b", "r", "queue", "q", retries, age)
    found = codes(targets=(target,))
    assert (("SP107", "rule:b/r") in found) == (lint_rules.delivery_retry_span(retries) > age)


def test_sp108_route_waits_less_than_the_function_runs() -> None:
    route = lint.RouteSpec("GET", "/x", 5, "f")
    assert codes(functions=fn("f", timeout=30), routes=(route,)) == {("SP108", "route:GET /x")}
    assert codes(functions=fn("f", timeout=5), routes=(route,)) == set()


def test_sp109_tasks_without_transient_retries_nested_too() -> None:
    bare = {"Type": "Task", "Resource": "x", "End": True}
    retried = {**bare, "Retry": [{"ErrorEquals": ["States.ALL"]}]}
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "T", "States": {"T": bare}}],
            }
        },
    }
    assert codes(machines={"m": nested}) == {("SP109", "machine:m")}
    assert codes(machines={"m": {"StartAt": "T", "States": {"T": retried}}}) == set()


def test_sp110_sp111_limits_and_concurrency() -> None:
    guarded = lint.MappingSpec("q", "f", 0, 2, None, "api")
    bare = lint.MappingSpec("r", "f", 0)
    found = codes(functions=fn("f", concurrency=2), mappings=(guarded, bare))
    assert found == {("SP110", "mapping:r:f"), ("SP111", "mapping:r:f")}
    ok = lint.MappingSpec("r", "f", 0, 2, "breaker", None)
    assert codes(functions=fn("f", concurrency=2), mappings=(guarded, ok)) == set()


def test_sp112_bus_loops_direct_and_through_another_bus() -> None:
    a_to_b = lint.TargetSpec("a", "fwd", "bus", "b")
    b_to_a = lint.TargetSpec("b", "back", "bus", "a")
    assert codes(targets=(a_to_b,)) == set()
    assert codes(targets=(a_to_b, b_to_a)) == {("SP112", "rule:a/fwd"), ("SP112", "rule:b/back")}
    assert codes(targets=(lint.TargetSpec("a", "self", "bus", "a"),)) == {("SP112", "rule:a/self")}


def test_sp113_sp114_streams_and_transactions() -> None:
    poison = lint.StreamMappingSpec("s", "f", -1, -1)
    assert codes(stream_mappings=(poison,)) == {("SP113", "stream_mapping:s->f")}
    assert codes(stream_mappings=(lint.StreamMappingSpec("s", "f", 3, -1),)) == set()
    found = lint.lint(lint.AppSpec({}, {}, (), transactions=(lint.TransactionSpec("t", True),)))
    assert [(f.code, f.severity) for f in found] == [("SP114", "error")]


IMPORTS = [
    "json",
    "os.path",
    "httpx",
    "requests.adapters",
    "urllib",
    "urllib.request",
    "urllib.parse",
    "aiohttp",
    "httpxyz",
]


@given(st.lists(st.sampled_from(IMPORTS)))
def test_sp115_a_transaction_module_importing_an_http_client(imports: list[str]) -> None:
    spec = lint.TransactionSpec("t", False, tuple(imports))
    found = lint.lint(lint.AppSpec({}, {}, (), transactions=(spec,)))
    clients = {"httpx", "requests", "aiohttp", "urllib.request"}
    expected = sorted({i.split(".adapters")[0] for i in imports} & clients)
    assert lint_rules.http_clients(tuple(imports)) == expected
    assert [(f.code, f.severity, f.object) for f in found] == (
        [("SP115", "warning", "transaction:t")] if expected else []
    )
    assert all(c in found[0].message for c in expected) if expected else True
