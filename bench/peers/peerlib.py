"""The part of the peer comparison every peer script shares (standard library only).

A peer script defines a :class:`Peer` and calls :func:`main`. ``python peer_X.py control``
(run by ``run.py``, once per peer per round) then:

1. calls ``setup`` (fresh queue/tables), then times ``enqueue`` of N job ids from this one
   process (wall time and this process's CPU time);
2. starts ``python peer_X.py worker`` in its own session: the peer's worker with C
   concurrent jobs, running until it is terminated;
3. watches the ids directory: every job appends one fixed-width line (its id and the time)
   to a file of its process (:func:`record`). CPU of the worker's session (every process
   in it, and the children it reaped) is sampled when the first line appears and when the
   N-th does, so the worker's start-up is not counted against the peer;
4. waits a grace period for late duplicates, terminates the worker's session, reads every
   line and prints one JSON object: enqueue/s, drain/s (N over the first to last job's
   time), CPU per job, and lost and duplicated ids.

The database servers' CPU is counted apart: the PostgreSQL backends whose process title
names the peer's own database, and the peer's own redis-server (``PEERS_REDIS_PID``);
PostgreSQL's shared processes (WAL writer, checkpointer) are not in it. The SQLite peers
do their database work inside the measured processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IDS_ENV = "PEERS_IDS_DIR"
WORKDIR_ENV = "PEERS_WORKDIR"  # set before the peer script runs: see run.py
REDIS_PID_ENV = "PEERS_REDIS_PID"  # the peer's own redis-server, for its CPU
LINE = 28  # "%09d %17.6f\n"
POLL = 0.005
GRACE = 1.0
STALL = 60.0  # no new job for this long: give up and report what is lost

_fds: dict[int, int] = {}


def record(job_id: int) -> None:
    """Note that job ``job_id`` ran: one atomic append to this process's ids file."""
    pid = os.getpid()
    fd = _fds.get(pid)
    if fd is None:
        path = os.path.join(os.environ[IDS_ENV], f"ids-{pid}")
        fd = _fds[pid] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, b"%09d %17.6f\n" % (job_id, time.time()))


@dataclass
class Peer:
    """What one peer script provides; ``args`` carries the options of :func:`_parser`."""

    name: str
    setup: Callable[[argparse.Namespace], None]
    enqueue: Callable[[argparse.Namespace, list[int]], None]
    worker: Callable[[argparse.Namespace], None]
    teardown: Callable[[argparse.Namespace], None] = lambda args: None
    versions: Callable[[], dict[str, str]] = field(default=lambda: {})


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["control", "worker"])
    p.add_argument("--n", type=int, default=1000, help="jobs to enqueue and drain")
    p.add_argument("--c", type=int, default=10, help="concurrent jobs in the worker")
    p.add_argument("--db", default="", help="PostgreSQL URL of this peer's own database")
    p.add_argument("--redis", default="", help="Redis URL of this peer's own server")
    p.add_argument("--variant", default="", help="which store, for peers with several")
    p.add_argument("--workdir", required=True, help="empty directory for files and ids")
    return p


def main(peer: Peer) -> None:
    """Entry point of a peer script."""
    args = _parser().parse_args()
    ids_dir = Path(args.workdir) / "ids"
    os.environ[IDS_ENV] = str(ids_dir)
    if args.mode == "worker":
        peer.worker(args)
        return
    ids_dir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(_control(peer, args, ids_dir)), flush=True)


def _control(peer: Peer, args: argparse.Namespace, ids_dir: Path) -> dict[str, Any]:
    peer.setup(args)
    try:
        ids = list(range(args.n))
        server0 = server_cpu(args)
        cpu0, t0 = time.process_time(), time.perf_counter()
        peer.enqueue(args, ids)
        t1, cpu1 = time.perf_counter(), time.process_time()
        enqueue_server = cpu_between(server0, server_cpu(args))
        drained = _drain(args, ids_dir)
    finally:
        peer.teardown(args)
    got = _read_ids(ids_dir)
    jobs = [job for job, _ in got]
    distinct = set(jobs)
    times = sorted(t for _, t in got)
    window = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return {
        "peer": peer.name,
        "n": args.n,
        "c": args.c,
        "enqueue_s": t1 - t0,
        "enqueue_per_s": args.n / (t1 - t0),
        "enqueue_cpu_us_per_job": (cpu1 - cpu0) / args.n * 1e6,
        "drain_s": window,
        "drain_per_s": args.n / window if window > 0 else None,
        "drain_cpu_us_per_job": drained["cpu"] / args.n * 1e6,
        "enqueue_server_cpu_us_per_job": enqueue_server / args.n * 1e6,
        "drain_server_cpu_us_per_job": drained["server"] / args.n * 1e6,
        "first_job_after_s": drained["first_after"],
        "lost": len(set(ids) - distinct),
        "duplicates": len(jobs) - len(distinct),
        "unexpected": len(distinct - set(ids)),
        "versions": peer.versions(),
    }


def _drain(args: argparse.Namespace, ids_dir: Path) -> dict[str, float]:
    """Run the worker until N lines were written (or progress stalls); CPU in between,
    of the worker's processes and of the servers'."""
    cmd = [sys.executable, sys.argv[0], "worker", *sys.argv[2:]]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        first_cpu = end_cpu = None
        first_server = end_server = server_cpu(args)
        first_after = float("nan")
        seen, progress_at = 0, time.perf_counter()
        while seen < args.n:
            time.sleep(POLL)
            count = _count(ids_dir)
            now = time.perf_counter()
            if count and first_cpu is None:
                first_cpu, first_after = _session_cpu(proc.pid), now - started
                first_server = server_cpu(args)
            if count > seen:
                seen, progress_at = count, now
            elif now - progress_at > STALL or proc.poll() is not None:
                break
        end_cpu, end_server = _session_cpu(proc.pid), server_cpu(args)
        time.sleep(GRACE)
    finally:
        _stop(proc)
    return {
        "cpu": end_cpu - (end_cpu if first_cpu is None else first_cpu),
        "server": cpu_between(first_server, end_server),
        "first_after": first_after,
    }


def _count(ids_dir: Path) -> int:
    return sum(e.stat().st_size for e in os.scandir(ids_dir)) // LINE


def _read_ids(ids_dir: Path) -> list[tuple[int, float]]:
    out = []
    for path in ids_dir.iterdir():
        for line in path.read_bytes().splitlines():
            job, at = line.split()
            out.append((int(job), float(at)))
    return out


def _proc_stats() -> dict[int, tuple[int, int, int]]:
    """pid -> (session id, own CPU ticks, reaped children's CPU ticks) of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        own = int(fields[11]) + int(fields[12])  # utime stime
        reaped = int(fields[13]) + int(fields[14])  # cutime cstime
        out[int(entry.name)] = (int(fields[3]), own, reaped)  # fields[3]: the session id
    return out


def _session_cpu(sid: int) -> float:
    """CPU seconds of every process in session ``sid``, plus the children they reaped."""
    ticks = sum(own + reaped for s, own, reaped in _proc_stats().values() if s == sid)
    return ticks / os.sysconf("SC_CLK_TCK")


def _server_pids(args: argparse.Namespace) -> list[int]:
    """The PostgreSQL backends serving this peer's database, and its Redis server."""
    pids = []
    db = args.db.rsplit("/", 1)[-1] if args.db else ""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmd = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if db and cmd.startswith(b"postgres: ") and f" {db} ".encode() in cmd:
            pids.append(int(entry.name))
    if os.environ.get(REDIS_PID_ENV):
        pids.append(int(os.environ[REDIS_PID_ENV]))
    return pids


def server_cpu(args: argparse.Namespace) -> dict[int, int]:
    """CPU ticks so far of each server process working for this peer (see _server_pids)."""
    stats = _proc_stats()
    return {pid: stats[pid][1] for pid in _server_pids(args) if pid in stats}


def cpu_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds the server processes used in between (a new backend counts from 0)."""
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the worker's whole session; kill what is left after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            deadline = time.monotonic() + wait
            while _session_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _session_alive(proc.pid):
                break
        except subprocess.TimeoutExpired:
            continue


def _session_alive(sid: int) -> bool:
    try:
        os.killpg(sid, 0)
    except ProcessLookupError:
        return False
    return True


def installed(*dists: str) -> dict[str, str]:
    """Versions of the given distributions in this venv."""
    from importlib.metadata import version

    return {d: version(d) for d in dists}
