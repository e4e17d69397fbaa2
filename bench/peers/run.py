"""Run the peer comparison: interleaved rounds of every selected peer, medians, a table.

``python bench/peers/run.py --n 10000 --c 10 --rounds 2 --peers all --out DIR``

Each round runs every peer once, in the same order (A, B, C, A, B, C ...), each in a fresh
work directory; a PostgreSQL peer gets a database of its own (``peers_<name>``, dropped
afterwards), a Redis peer a redis-server of its own on a free loopback port with the
append-only file on and ``appendfsync everysec`` (Redis's recommended durable setting).
A peer whose venv is missing (``bench/peers/setup.sh``) is reported as not installed.
Writes ``summary.md`` and ``results.json`` to ``--out`` and prints the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from specs import PEERS, Spec

HERE = Path(__file__).resolve().parent
PG = os.environ.get("PEERS_PG", "postgresql://postgres@127.0.0.1:5432/test")
TIMEOUT = 900.0


def _python(spec: Spec) -> Path | None:
    if spec.venv is None:
        return Path(sys.executable)
    py = HERE / ".venvs" / spec.venv / "bin" / "python"
    return py if (HERE / ".venvs" / spec.venv / ".installed").exists() else None


def _pg_url(db: str) -> str:
    return PG.rsplit("/", 1)[0] + "/" + db


def _pg(sql: str) -> None:
    import psycopg  # the project's venv has it; only PostgreSQL peers need it

    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(sql)


def _pg_version() -> str:
    import psycopg

    with psycopg.connect(PG) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    data = workdir / "redis"
    data.mkdir()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not answer PING within 10 s")


def run_one(
    name: str, spec: Spec, args: argparse.Namespace, root: Path, rnd: int
) -> dict[str, Any]:
    """One peer, one round: its own work directory, database and Redis."""
    py = _python(spec)
    if py is None:
        return {"peer": name, "error": "not installed (bench/peers/setup.sh)"}
    workdir = root / f"r{rnd}-{name}"
    workdir.mkdir()
    cmd = [
        str(py),
        str(HERE / spec.script),
        "control",
        "--n",
        str(args.n),
        "--c",
        str(args.c),
        "--variant",
        spec.variant,
        "--workdir",
        str(workdir),
    ]
    redis = None
    db = "peers_" + name.replace("-", "_")
    db_url = url = ""
    try:
        if spec.postgres:
            _pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            _pg(f"CREATE DATABASE {db}")
            db_url = _pg_url(db)
            cmd += ["--db", db_url]
        if spec.redis:
            redis, url = _start_redis(workdir)
            cmd += ["--redis", url]
        env = {**os.environ, "PEERS_WORKDIR": str(workdir), "PEERS_DB": db_url}
        env["PEERS_REDIS"] = url
        env["PEERS_REDIS_PID"] = str(redis.pid) if redis else ""
        out = subprocess.run(
            cmd, check=False, capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
    except subprocess.TimeoutExpired:
        return {"peer": name, "error": f"timed out after {TIMEOUT:.0f} s"}
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(10)
        if spec.postgres:
            _pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"peer": name, "error": f"exit {out.returncode}: {out.stderr.strip()[-800:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["peer"] = name
    return result


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def summarise(names: list[str], results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of medians, one row per peer."""
    out = [
        "| peer | store | enqueue/s | drain/s | client CPU µs/job | server CPU µs/job "
        "| lost | duplicates | rounds |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        rows = [r for r in results if r["peer"] == name and "error" not in r]
        errors = [r["error"] for r in results if r["peer"] == name and "error" in r]
        store = PEERS[name].store
        if not rows:
            why = errors[0][:60].replace("|", "/") if errors else ""
            out.append(f"| {name} | {store} | — | — | — | — | — | — | {why} |")
            continue
        client = [r["enqueue_cpu_us_per_job"] + r["drain_cpu_us_per_job"] for r in rows]
        server = [
            r["enqueue_server_cpu_us_per_job"] + r["drain_server_cpu_us_per_job"] for r in rows
        ]
        lost = sum(r["lost"] for r in rows)
        dup = sum(r["duplicates"] for r in rows)
        rounds = f"{len(rows)}" + (f" ({len(errors)} failed)" if errors else "")
        server_cell = _fmt(statistics.median(server)) if PEERS[name].has_server else "(in client)"
        out.append(
            f"| {name} | {store} | {_fmt(_median(rows, 'enqueue_per_s'))} "
            f"| {_fmt(_median(rows, 'drain_per_s'))} | {_fmt(statistics.median(client))} "
            f"| {server_cell} | {lost} | {dup} | {rounds} |"
        )
    return out


def describe(names: list[str], results: list[dict[str, Any]]) -> list[str]:
    """The table of versions, settings and guarantees of the peers that ran."""
    out = ["| peer | versions | settings | guarantees |", "|---|---|---|---|"]
    for name in names:
        spec = PEERS[name]
        versions = next(
            (r["versions"] for r in results if r["peer"] == name and "versions" in r), {}
        )
        vs = ", ".join(f"{k} {v}" for k, v in versions.items()) or "—"
        out.append(f"| {name} | {vs} | {spec.settings} | {spec.guarantees} |")
    return out


def machine(names: list[str]) -> list[str]:
    """Where it ran: cores, memory, kernel, the servers' versions, load."""
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    lines = [
        f"- machine: {os.cpu_count()} cores (`nproc` {len(os.sched_getaffinity(0))}), "
        f"{int(mem) / 1024 / 1024:.1f} GiB RAM, kernel {os.uname().release}, "
        f"Python {sys.version.split()[0]}",
    ]
    if any(PEERS[n].postgres for n in names):
        where = PG.rsplit("@", 1)[-1]
        lines.append(f"- PostgreSQL {_pg_version()} on the same machine ({where})")
    if any(PEERS[n].redis for n in names):
        v = subprocess.run(
            ["redis-server", "--version"], check=False, capture_output=True, text=True
        ).stdout
        lines.append(f"- {v.split(' sha=')[0].strip()}, AOF on, `appendfsync everysec`")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10000, help="jobs per peer per round")
    p.add_argument("--c", type=int, default=10, help="concurrent jobs in the worker")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--peers", default="all", help=f"comma-separated, of: {', '.join(PEERS)}")
    p.add_argument("--out", default="", help="directory for summary.md and results.json")
    p.add_argument("--keep", action="store_true", help="keep the work directories")
    args = p.parse_args()
    names = list(PEERS) if args.peers == "all" else args.peers.split(",")
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        p.error(f"--peers: unknown {', '.join(unknown)}; allowed: {', '.join(PEERS)} or all")
    root = Path(tempfile.mkdtemp(prefix="peers-"))
    load0 = os.getloadavg()
    results: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for name in names:
            r = run_one(name, PEERS[name], args, root, rnd)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results.append(r)
    load1 = os.getloadavg()
    shutil.rmtree(root, ignore_errors=True)
    cmd = f"scripts/bench-peers {args.n} {args.c} {args.rounds} {','.join(names)}"
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{args.n:,} jobs, {args.c} concurrent, {args.rounds} interleaved rounds, medians; "
        f"load average {load0[0]:.1f} before, {load1[0]:.1f} after.",
        "",
        *machine(names),
        "",
        *summarise(names, results),
        "",
        *describe(names, results),
    ]
    summary = "\n".join(text) + "\n"
    print(summary)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.md").write_text(summary)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
