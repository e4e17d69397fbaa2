"""Faults reach their targets end to end, in-process, on both stores: a function raising,
a breaker-guarded call failing, a store call slowed and failed, the kill switch, expiry,
seeded reproducibility, COUNT slots, and the fault visible as injected."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.chaos import Fault
from stormproof.chaos.injector import ChaosInjector
from stormproof.engine import events, injection
from stormproof.errors import FunctionError, StoreUnavailable


@pytest.fixture
async def apps(store_url: str) -> AsyncIterator[tuple[App, App]]:
    """An obeying app (chaos on) and a controlling one (chaos off) on one store."""
    obeying, control = App("shop", store_url, chaos=True), App("shop", store_url, chaos=False)
    await control.open()
    await obeying.open()
    try:
        yield obeying, control
    finally:
        await obeying.close()
        await control.close()
    assert injection.injector is None


async def _refreshed(app: App) -> None:
    view = app.chaos._view
    assert view is not None
    await view.refresh()


def _echo(app: App) -> Any:
    @app.function(name="reserve_payment")
    async def reserve_payment(event: Any, context: Any) -> Any:
        return event

    return reserve_payment


async def test_chaos_is_off_by_default(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORMPROOF_CHAOS", raising=False)
    async with App("shop", store_url) as app:
        assert injection.injector is None and not app.chaos.enabled
        await app.chaos.inject(Fault("function:reserve_payment", "error"))
        assert await _echo(app).invoke({"ok": 1}) == {"ok": 1}  # a process with chaos off
    monkeypatch.setenv("STORMPROOF_CHAOS", "1")
    async with App("shop", store_url) as app:
        assert isinstance(injection.injector, ChaosInjector) and app.chaos.enabled
    assert injection.injector is None


async def test_a_function_fault_fails_the_invocation_and_is_visible(
    apps: tuple[App, App], caplog: pytest.LogCaptureFixture
) -> None:
    obeying, control = apps
    fn = _echo(obeying)
    seen: list[events.RuntimeEvent] = []
    unsubscribe = events.subscribe(seen.append)
    metrics = obeying.enable_metrics()
    fault = Fault("function:reserve_payment", "error", error="ConnectionError", duration=30)
    try:
        fault_id = await control.chaos.inject(fault)
        await _refreshed(obeying)
        with (
            caplog.at_level(logging.WARNING, "stormproof.chaos"),
            pytest.raises(FunctionError) as err,
        ):
            await fn.invoke({"n": 1})
    finally:
        unsubscribe()
    assert err.value.error_type == "ConnectionError"
    assert any(e.name == "fault.injected" and e.fields["fault_id"] == fault_id for e in seen)
    logged = [r for r in caplog.records if "injected=true" in r.getMessage()]
    assert logged and logged[0].levelno == logging.WARNING
    text = metrics.text().decode()
    assert (
        'stormproof_faults_injected_total{action="error",target="function:reserve_payment"} 1.0'
        in text
    )
    await _refreshed(obeying)  # writes this process's count
    (info,) = await control.chaos.faults()
    assert info["id"] == fault_id and info["injected"] == 1 and info["active"]
    assert info["fault"]["target"] == "function:reserve_payment"
    assert info["expires_at"] - info["starts_at"] == pytest.approx(30)
    await control.chaos.stop(fault_id)
    await _refreshed(obeying)
    assert await fn.invoke({"n": 2}) == {"n": 2}
    assert await control.chaos.faults() == []


async def test_latency_and_start_after(apps: tuple[App, App]) -> None:
    obeying, control = apps
    fn = _echo(obeying)
    await control.chaos.inject(Fault("function:reserve_payment", "latency", latency=0.3))
    await control.chaos.inject(Fault("function:reserve_payment", "error", start_after=600))
    await _refreshed(obeying)
    began = time.monotonic()
    assert await fn.invoke(1) == 1  # the error fault has not started yet
    assert time.monotonic() - began >= 0.3
    assert sorted(i["active"] for i in await control.chaos.faults()) == [False, True]


async def test_a_breaker_guarded_call_gets_its_fault(apps: tuple[App, App]) -> None:
    obeying, control = apps
    breaker = obeying.breaker("airline", consecutive_failures=2, open_for=60)
    await control.chaos.inject({"target": "breaker:airline", "action": "timeout"})
    await _refreshed(obeying)

    async def call() -> str:
        return "ok"

    for _ in range(2):
        with pytest.raises(TimeoutError):
            await breaker.call(call)
    await breaker.flush()
    assert breaker.state.state.value == "open"


async def test_store_faults_slow_and_fail_store_calls(apps: tuple[App, App]) -> None:
    obeying, control = apps
    queue = await obeying.create_queue("orders")
    await control.chaos.inject(Fault("store", "latency", latency=0.2, duration=30))
    await _refreshed(obeying)
    began = time.monotonic()
    await queue.send({"a": 1})
    assert time.monotonic() - began >= 0.2
    await control.chaos.stop()
    await control.chaos.inject(Fault("store", "error", probability=1.0))
    await _refreshed(obeying)
    with pytest.raises(StoreUnavailable):
        await queue.send({"a": 2})
    await control.chaos.stop()  # the kill switch: the view is read around the proxy
    await _refreshed(obeying)
    await queue.send({"a": 3})
    assert (await queue.stats()).visible == 2


async def test_a_fault_expires_on_its_own(apps: tuple[App, App]) -> None:
    obeying, control = apps
    fn = _echo(obeying)
    await control.chaos.inject(Fault("function:reserve_payment", "error", duration=0.6))
    await _refreshed(obeying)
    with pytest.raises(FunctionError):
        await fn.invoke(1)
    await asyncio.sleep(0.7)
    assert await fn.invoke(2) == 2  # expired: judged on the clock, whoever refreshes
    assert await control.chaos.faults() == []  # and swept from the store


async def test_new_faults_and_the_kill_switch_reach_a_process_within_a_second(
    apps: tuple[App, App],
) -> None:
    obeying, control = apps
    fn = _echo(obeying)
    await control.chaos.inject(Fault("function:reserve_payment", "error"))
    assert await _within(1.0, fn, failing=True)
    await control.chaos.stop()
    assert await _within(1.0, fn, failing=False)


async def _within(limit: float, fn: Any, failing: bool) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await _fails(fn) == failing:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_seed_reproduces_the_schedule_of_hits(apps: tuple[App, App]) -> None:
    obeying, control = apps
    fn = _echo(obeying)
    schedules = []
    for _ in range(2):
        fault = Fault("function:reserve_payment", "error", probability=0.5, seed=42)
        await control.chaos.inject(fault)
        await _refreshed(obeying)
        schedules.append([await _fails(fn) for _ in range(24)])
        await control.chaos.stop()
        await _refreshed(obeying)
    assert schedules[0] == schedules[1]
    assert 0 < sum(schedules[0]) < 24


async def _fails(fn: Any) -> bool:
    try:
        await fn.invoke(0)
    except FunctionError:
        return True
    return False


def _obeying(apps: list[App]) -> int:
    return sum(bool(a.chaos._view is not None and a.chaos._view.obeyed) for a in apps)


async def test_count_selection_lets_exactly_n_processes_obey(store_url: str) -> None:
    apps = [App("shop", store_url, chaos=True) for _ in range(3)]
    for app in apps:
        await app.open()
    try:
        await apps[0].chaos.inject(Fault("function:f", "error", selection="COUNT(2)"))
        for app in apps:
            await _refreshed(app)
        assert _obeying(apps) == 2
        first = next(a for a in apps if a.chaos._view is not None and a.chaos._view.obeyed)
        await first.close()  # gives its slot back: the third process takes it
        for app in apps:
            if app.chaos._view is not None:
                await _refreshed(app)
        assert _obeying(apps) == 2
    finally:
        for app in apps:
            await app.close()


def test_the_bench_measures_a_call_site_off_and_on() -> None:
    from stormproof.bench import chaos as bench_chaos

    off, on = bench_chaos.run(calls=2000, faults=2)
    assert (off["chaos"], on["chaos"], on["faults"]) == (0, 1, 2)
    assert off["ns_per_site"] > 0 and on["ns_per_site"] > 0
    assert injection.injector is None


async def test_the_runtime_retries_hold_under_transient_store_errors(store_url: str) -> None:
    app = App("flaky", store_url, chaos=True)
    jobs = app.queue("jobs", visibility_timeout=1)
    seen: list[str] = []

    @app.function(timeout=1)
    async def work(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(jobs, work, batch_size=5)
    async with app:
        for i in range(30):
            await jobs.send(str(i))
        fault = Fault("store", "error", probability=0.2, duration=1.5, seed=1)
        await app.chaos.inject(fault)
        await _refreshed(app)
        worker = Worker(app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(300):
                stats = await app._unwrapped_store().counts("jobs")  # the test's own reads
                if stats.visible == stats.in_flight == 0 and len(set(seen)) == 30:
                    break
                await asyncio.sleep(0.05)
        finally:
            worker.stop()
            await task
        assert (await app._unwrapped_store().counts("jobs")).in_flight == 0
    assert set(seen) == {str(i) for i in range(30)}  # none lost (a failed delete redelivers)
