"""Benchmark: durable state machine executions (``stormproof bench machines``).

Two workloads, each on a fresh store (see :func:`stormproof.bench.queue.fresh_store`):

- **pass-choice**: a 10-state Pass/Choice machine (all its states commit in one
  transaction: one step per execution);
- **map-100**: a Map state over 100 items (one Pass state per iteration);
- **distributed-map-100**: the same Map in DISTRIBUTED mode: 100 child executions per
  execution (run with a quarter of ``--map-executions``);
- **tasks-10** (``--tasks``, run alone): ten Task states, each calling a no-op async
  function (the checkpoint granularity of a durable workflow of ten steps).

Each runs in two modes: **in-process** (the step consumer of the benchmarking process)
and **workers** (``--workers`` processes running an app with the machines, on the same
store). A run has two timed phases: *start* (N executions started concurrently, with no
consumer running) and *run* (consumers started; until every execution has closed).
Figures: executions/s of each phase, end-to-end executions/s (N over both phases), and
state transitions/s of the run phase (states entered, counted from one history).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store
from stormproof.storage import machine_ops

START_CHUNK = 500
POLL = 0.02


def pass_choice() -> dict[str, Any]:
    """Ten Pass and Choice states."""
    states: dict[str, Any] = {}
    for i in range(1, 10):
        name, nxt = f"S{i}", f"S{i + 1}"
        if i % 3 == 2:
            states[name] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": nxt}],
                "Default": "S10",
            }
        else:
            states[name] = {"Type": "Pass", "Parameters": {"n.$": "$.n", "step": i}, "Next": nxt}
    states["S10"] = {"Type": "Succeed"}
    return {"StartAt": "S1", "States": states}


def map_100() -> dict[str, Any]:
    """A Map of 100 items, one Pass state per iteration."""
    return {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Pass",
                "Parameters": {"items.$": "States.ArrayRange(1, 100, 1)"},
                "Next": "Map",
            },
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }


def distributed_map_100() -> dict[str, Any]:
    """The Map of 100 items in DISTRIBUTED mode: each item a child execution."""
    definition = map_100()
    processor = definition["States"]["Map"]["ItemProcessor"]
    processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    return definition


def tasks_10() -> dict[str, Any]:
    """Ten Task states, each calling the no-op function ``noop``."""
    states: dict[str, Any] = {}
    for i in range(1, 11):
        states[f"T{i}"] = {"Type": "Task", "Resource": "noop", "ResultPath": f"$.t{i}"}
        states[f"T{i}"].update({"End": True} if i == 10 else {"Next": f"T{i + 1}"})
    return {"StartAt": "T1", "States": states}


async def noop(event: Any) -> Any:
    """The Task function of ``tasks-10``: does nothing."""
    return 1


WORKLOADS = {
    "pass-choice": pass_choice,
    "map-100": map_100,
    "distributed-map-100": distributed_map_100,
    "tasks-10": tasks_10,
}
RESOURCES = {"noop": noop}


def bench_app(url: str) -> App:
    """The app workers run: every workload's machine."""
    app = App("bench-machines", url)
    for name, factory in WORKLOADS.items():
        app.executions.machines.define(name, factory(), resources=RESOURCES)
    return app


def _define(app: App) -> None:
    for name, factory in WORKLOADS.items():
        app.executions.machines.define(name, factory(), resources=RESOURCES)


async def _serve(url: str) -> None:
    """Open the app, say ``ready``, start the consumers on ``go`` (a line on stdin)."""
    async with App("bench-worker", url) as app:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        _define(app)
        app.executions.start_background()
        await asyncio.Event().wait()


def worker_main(url: str) -> None:
    """A worker process: run the machines' consumers until killed."""
    asyncio.run(_serve(url))


async def _start_all(app: App, machine: str, n: int) -> float:
    began = time.perf_counter()
    for lo in range(0, n, START_CHUNK):
        count = min(START_CHUNK, n - lo)
        await asyncio.gather(*(app.start_execution(machine, {"n": lo + i}) for i in range(count)))
    return time.perf_counter() - began


async def _until_closed(app: App, n: int) -> float:
    began = time.perf_counter()
    while True:
        counts = await app.store.run(machine_ops.status_counts)
        if counts.get("RUNNING", 0) == 0 and sum(counts.values()) >= n:
            return time.perf_counter() - began
        await asyncio.sleep(POLL)


def _spawn(url: str, workers: int) -> list[subprocess.Popen[str]]:
    code = "import sys; from stormproof.bench.machines import worker_main; worker_main(sys.argv[1])"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a benchmark worker failed to start")
    return procs


def _go(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


async def _phase(url: str, machine: str, n: int, workers: int) -> dict[str, Any]:
    """Start n executions, then run them in-process (workers=0) or in worker processes."""
    app = App("bench-driver", url)
    async with app:
        await app.executions.save_machine(bench_app(url).executions.machines.get(machine))  # type: ignore[arg-type]
        procs = _spawn(url, workers) if workers else []
        start_s = await _start_all(app, machine, n)
        _go(procs)
        if not workers:
            _define(app)
            app.executions.start_background()
        try:
            run_s = await _until_closed(app, n)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.communicate(timeout=30)  # waits, and closes the pipes
        sample = (await app.list_executions(machine, limit=1))[0]
        transitions = await _transitions(app, sample.arn)
        succeeded = await app.list_executions(machine, "SUCCEEDED", limit=n)
    return {
        "machine": machine,
        "mode": f"{workers} workers" if workers else "in-process",
        "executions": n,
        "succeeded": len(succeeded),
        "start_per_s": n / start_s,
        "run_per_s": n / run_s,
        "end_to_end_per_s": n / (start_s + run_s),
        "transitions_per_execution": transitions,
        "transitions_per_s": n * transitions / run_s,
    }


async def _transitions(app: App, arn: str) -> int:
    """States entered by the execution ``arn`` and by the children of its Map Runs."""
    history = await app.get_execution_history(arn)
    count = sum(1 for e in history if e["type"].endswith("StateEntered"))
    for event in history:
        if event["type"] == "MapRunStarted":
            run_arn = event["mapRunStartedEventDetails"]["mapRunArn"]
            children = await app.list_executions(map_run=run_arn, limit=100_000)
            count += len(children) * await _transitions(app, children[0].arn)
    return count


def run(
    url: str,
    executions: int = 5000,
    workers: int = 4,
    map_executions: int = 200,
    *,
    tasks: bool = False,
) -> dict[str, Any]:
    """Every workload in both modes, each on a fresh store beside ``url`` (``tasks``: only
    the ten-Task machine, ``executions`` of it)."""
    rows = []
    # A distributed Map of 100 items is 101 executions: a quarter as many parents.
    plan: tuple[tuple[str, int], ...] = (
        ("pass-choice", executions),
        ("map-100", map_executions),
        ("distributed-map-100", max(1, map_executions // 4)),
    )
    if tasks:
        plan = (("tasks-10", executions),)
    for machine, n in plan:
        for mode in (0, workers):
            with fresh_store(url, "machines") as fresh:
                rows.append(asyncio.run(_phase(fresh, machine, n, mode)))
    return {"store": backend_of(url), "workers": workers, "rows": rows}


def render(report: dict[str, Any]) -> None:
    """Print the figures as a table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"state machine benchmark on {report['store']}")
    columns = ("machine", "mode", "executions", "start/s", "run/s", "end-to-end/s", "transitions/s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("machine", "mode") else "right")
    for r in report["rows"]:
        table.add_row(
            r["machine"],
            r["mode"],
            f"{r['succeeded']}/{r['executions']}",
            f"{r['start_per_s']:,.0f}",
            f"{r['run_per_s']:,.0f}",
            f"{r['end_to_end_per_s']:,.0f}",
            f"{r['transitions_per_s']:,.0f}",
        )
    Console().print(table)
