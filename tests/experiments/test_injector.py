"""Faults routed by target: a loopback dependency switched down and back, expiry on its
own, the kill switch, and a clear error for targets that need the chaos API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from stormproof.errors import InvalidAttribute, StormproofError
from stormproof.experiments import Dependency, DependencyError, Faults


@pytest.fixture
def dep() -> Iterator[Dependency]:
    d = Dependency("test-dep")
    d.start()
    yield d
    d.remove(None)
    d.stop()
    Dependency.registry.pop("test-dep", None)


async def test_an_error_fault_answers_its_status_then_expires_on_its_own(dep: Dependency) -> None:
    faults = Faults()
    await dep.call()
    await faults.inject(
        {"target": "dependency:test-dep", "action": "error", "status": 503, "duration": 0.3}
    )
    with pytest.raises(DependencyError, match="HTTP 503"):
        await dep.call()
    await asyncio.sleep(0.4)
    await dep.call()  # nobody rolled it back: it expired
    await dep.close()


async def test_the_kill_switch_removes_every_fault(dep: Dependency) -> None:
    faults = Faults()
    for action in ("drop", "timeout"):
        await faults.inject({"target": "dependency:test-dep", "action": action, "duration": 60})
    with pytest.raises(DependencyError):
        await dep.call(timeout=0.5)
    await faults.stop()
    await dep.call()
    assert len(dep.arrivals) == 2
    await dep.close()


async def test_one_fault_stops_alone(dep: Dependency) -> None:
    faults = Faults()
    a = await faults.inject({"target": "dependency:test-dep", "action": "error", "duration": 60})
    await faults.inject(
        {
            "target": "dependency:test-dep",
            "action": "latency",
            "latency": 0.01,
            "duration": 60,
            "probability": 0.0,
        }
    )
    await faults.stop(a)
    assert [f.action for f in dep.faults] == ["latency"]
    await dep.call()
    await dep.close()


async def test_targets_without_an_injector_are_clear_errors() -> None:
    faults = Faults()
    with pytest.raises(StormproofError, match="needs the chaos API"):
        await faults.inject({"target": "store", "action": "latency", "duration": 5})
    with pytest.raises(InvalidAttribute, match="a declared dependency"):
        await faults.inject({"target": "dependency:nope", "action": "error", "duration": 5})
    with pytest.raises(InvalidAttribute, match=r"workers\.processes"):
        await faults.inject({"target": "process:worker", "action": "crash", "duration": 5})


async def test_chaos_targets_go_to_the_chaos_api() -> None:
    calls: list[object] = []

    async def inject(fault: dict[str, object]) -> str:
        calls.append(fault)
        return "f-1"

    async def stop(fault_id: str | None) -> None:
        calls.append(("stop", fault_id))

    faults = Faults(inject, stop)
    assert await faults.inject({"target": "store", "action": "error", "duration": 5}) == "f-1"
    await faults.stop("f-1")
    await faults.stop()
    assert calls[1:] == [("stop", "f-1"), ("stop", None)]
