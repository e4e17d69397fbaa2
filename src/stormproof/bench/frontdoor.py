"""Benchmark: a storage-first POST against a plain route, same server, driven by ``wrk``.

One uvicorn worker (:mod:`stormproof.http.bench_server`, a subprocess on loopback, on
a fresh store beside the given one) serves both routes; ``wrk`` (a C load generator, so the
client does not eat the Python server's CPU) posts the same small JSON body to each for
``duration`` seconds with ``connections`` connections: first the plain route, then the
storage-first one. The report gives requests/s, p50 and p99 latency of each, the ratios,
and how many messages the store holds afterwards (it must equal the 202s wrk counted).
Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stormproof.app import App
from stormproof.bench.queue import backend_of, fresh_store
from stormproof.errors import InvalidAttribute

QUEUE = "bench-orders"  # the queue of the server's storage-first route
BODY = '{"item":"book","qty":1}'
SCRIPT = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the benchmark server exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the benchmark server did not start")


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (seconds), requests and non-2xx answers from ``wrk --latency``."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if not (rate and total and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return {
        "requests_per_s": float(rate.group(1)),
        "requests": int(total.group(1)),
        "p50_s": _seconds(p50.group(1)),
        "p99_s": _seconds(p99.group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def _wrk(url: str, duration: int, connections: int, threads: int, script: Path) -> str:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    return done.stdout


def run(url: str, duration: int = 10, connections: int = 32, threads: int = 1) -> dict[str, Any]:
    """Measure both routes on a fresh store beside ``url``; the report as a dict."""
    if shutil.which("wrk") is None:
        raise InvalidAttribute("wrk", None, "wrk on PATH (apt-get install -y wrk)")
    with fresh_store(url, "frontdoor") as fresh, tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "post.lua")
        script.write_text(SCRIPT, encoding="utf-8")
        port = _free_port()
        cmd = [sys.executable, "-m", "stormproof.http.bench_server", fresh, str(port)]
        server = subprocess.Popen(cmd)
        try:
            _wait_ready(port, server)
            base = f"http://127.0.0.1:{port}"
            _wrk(f"{base}/plain", 2, connections, threads, script)  # warm-up
            plain = parse_wrk(_wrk(f"{base}/plain", duration, connections, threads, script))
            stored = parse_wrk(_wrk(f"{base}/orders", duration, connections, threads, script))
        finally:
            server.terminate()
            server.wait(timeout=30)
        held = asyncio.run(_stored(fresh))
    return {
        "store": backend_of(url),
        "duration_s": duration,
        "connections": connections,
        "wrk_threads": threads,
        "plain": plain,
        "storage_first": stored,
        "throughput_ratio": stored["requests_per_s"] / plain["requests_per_s"],
        "p99_ratio": stored["p99_s"] / plain["p99_s"],
        "messages_stored": held,
    }


async def _stored(url: str) -> int:
    app = App("bench-count", url)
    async with app:
        stats = await (await app.queues.get(QUEUE)).stats()
        return int(stats.visible)


def render(report: dict[str, Any]) -> None:
    """Print the report as a table and the ratio line."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"front-door benchmark on {report['store']}: wrk -t{report['wrk_threads']} "
        f"-c{report['connections']} -d{report['duration_s']}s, one uvicorn worker"
    )
    table = Table(title=title)
    for column in ("route", "requests/s", "p50 ms", "p99 ms", "requests", "non-2xx"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for key, label in (("plain", "plain 202 (no store)"), ("storage_first", "storage-first")):
        f = report[key]
        table.add_row(
            label,
            f"{f['requests_per_s']:,.0f}",
            f"{f['p50_s'] * 1e3:.2f}",
            f"{f['p99_s'] * 1e3:.2f}",
            str(f["requests"]),
            str(f["non_2xx"]),
        )
    console = Console()
    console.print(table)
    console.print(
        f"storage-first / plain: throughput {report['throughput_ratio']:.2f}, "
        f"p99 {report['p99_ratio']:.2f}; messages stored {report['messages_stored']}"
    )
