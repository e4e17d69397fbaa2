"""Benchmark: transactional steps (``stormproof bench transactions``).

A 3-state machine (Pass, Task, Pass) whose Task is a one-row UPDATE, run end to end by
``--workers`` worker processes, in two variants on fresh stores:

- **one transaction**: the Task is a transaction function (``@app.transaction``): the
  UPDATE commits in the unit that deletes the task message and enqueues the outcome;
- **two transactions**: the Task is a plain function that runs the same UPDATE in a
  transaction of its own (``invoke``), then the outcome commits in a second one.

Figures: executions/s of the run phase (every execution started first, then the workers
told to go), and the ratio of the two.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from stormproof.app import App
from stormproof.bench import machines as bench_machines
from stormproof.bench.queue import backend_of, fresh_store

VARIANTS = ("one-transaction", "two-transactions")
ROWS = 64


def definition(resource: str) -> dict[str, Any]:
    """Pass, the UPDATE Task, Pass."""
    return {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "Update"},
            "Update": {
                "Type": "Task",
                "Resource": resource,
                "ResultPath": "$.row",
                "Next": "After",
            },
            "After": {"Type": "Pass", "Result": 1, "ResultPath": "$.after", "End": True},
        },
    }


def bench_app(url: str) -> tuple[App, dict[str, Any]]:
    """The app the workers run (its functions) and the resources of its machines."""
    app = App("bench-transactions", url)

    bump = app.functions.transactions.define(_bump, "bump")

    async def bump_apart(event: Any) -> Any:
        return await bump.invoke(event)

    return app, {"bump_apart": bump_apart}


def _bump(db: Any, event: Any) -> Any:
    sql = "UPDATE bench_counters SET n = n + 1 WHERE id = :id RETURNING n"
    return db.execute(sql, {"id": event["n"] % ROWS}).fetchone()[0]


def _setup(db: Any, event: Any) -> None:
    db.execute("CREATE TABLE bench_counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    for i in range(ROWS):
        db.execute("INSERT INTO bench_counters VALUES (:i, 0)", {"i": i})


def define_machines(app: App, resources: dict[str, Any]) -> None:
    """Both variants' machines."""
    app.executions.machines.define("one-transaction", definition("bump"))
    app.executions.machines.define(
        "two-transactions", definition("bump_apart"), resources=resources
    )


async def _serve(url: str) -> None:
    app, resources = bench_app(url)
    async with app:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        define_machines(app, resources)
        app.executions.start_background()
        await asyncio.Event().wait()


def worker_main(url: str) -> None:
    """A worker process: its consumers start on a line on stdin."""
    asyncio.run(_serve(url))


def _spawn(url: str, workers: int) -> list[subprocess.Popen[str]]:
    code = (
        "import sys; from stormproof.bench.transactions import worker_main;"
        " worker_main(sys.argv[1])"
    )
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


async def _variant(url: str, machine: str, n: int, workers: int) -> dict[str, Any]:
    driver = App("bench-driver", url)
    setup = driver.functions.transactions.define(_setup, "setup")

    async with driver:
        await setup.invoke()
        shapes, resources = bench_app(url)
        define_machines(shapes, resources)
        for m in shapes.executions.machines:
            await driver.executions.save_machine(m)
        procs = _spawn(url, workers)
        try:
            await bench_machines._start_all(driver, machine, n)
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            run_s = await bench_machines._until_closed(driver, n)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.communicate(timeout=30)
        succeeded = await driver.list_executions(machine, "SUCCEEDED", limit=n)
    return {
        "variant": machine,
        "executions": n,
        "succeeded": len(succeeded),
        "run_per_s": n / run_s,
    }


def run(url: str, executions: int = 1000, workers: int = 2) -> dict[str, Any]:
    """Both variants, each on a fresh store beside ``url``."""
    rows = []
    for machine in VARIANTS:
        with fresh_store(url, "transactions") as fresh:
            rows.append(asyncio.run(_variant(fresh, machine, executions, workers)))
    ratio = rows[0]["run_per_s"] / rows[1]["run_per_s"]
    return {"store": backend_of(url), "workers": workers, "rows": rows, "speedup": ratio}


def render(report: dict[str, Any]) -> None:
    """Print the figures as a table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"transactional steps on {report['store']}, {report['workers']} workers")
    for column in ("variant", "executions", "run/s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for r in report["rows"]:
        table.add_row(r["variant"], f"{r['succeeded']}/{r['executions']}", f"{r['run_per_s']:,.0f}")
    Console().print(table)
    Console().print(f"one transaction / two transactions: {report['speedup']:.2f}x")
