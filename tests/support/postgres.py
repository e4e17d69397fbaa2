"""Find a PostgreSQL server for the test run, or start a throwaway one.

Order: ``STORMPROOF_TEST_POSTGRES_URL``; the server on 127.0.0.1:5432 (database ``test``);
Debian's PostgreSQL binaries in a temporary cluster on a free loopback port. ``None`` when
nothing works (the suite then skips PostgreSQL loudly, or fails under ``CI=true``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def answers(url: str) -> bool:
    """Whether a server accepts a connection at ``url``."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def throwaway_cluster() -> Iterator[str | None]:
    """A temporary cluster from Debian's binaries, stopped and removed afterwards."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        yield None
        return
    bindir = bins[-1]
    root = tempfile.mkdtemp(prefix="stormproof-pg-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    port = _free_port()
    started = False
    try:
        subprocess.run(
            _as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    f"{bindir}/pg_ctl",
                    "-D",
                    data,
                    "-w",
                    "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                    "-l",
                    os.path.join(root, "log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        started = True
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        for _ in range(50):
            if answers(url):
                break
            time.sleep(0.1)
        yield url
    except (subprocess.CalledProcessError, OSError):
        yield None
    finally:
        if started:
            subprocess.run(
                _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """The URL of a server to test against, or None."""
    explicit = os.environ.get("STORMPROOF_TEST_POSTGRES_URL")
    if explicit:
        yield explicit
        return
    if answers(DEFAULT_URL):
        yield DEFAULT_URL
        return
    with throwaway_cluster() as url:
        yield url


_IDLE_HOLDERS = """
SELECT DISTINCT a.pid FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %s
JOIN pg_stat_activity a ON a.pid = l.pid AND a.state = 'idle in transaction'
"""


def drop_schema(url: str, schema: str) -> None:
    """Drop one test's schema.

    A test that severs connections on purpose (tests/support/commit_proxy.py) can leave a
    server session idle in a transaction on the schema's tables; after 5 s of waiting its
    session is ended, so the cleanup cannot hang the test (the test's claims were already
    checked; the closing note of session 7 records the open question of who leaves it).
    """
    drop = f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        try:
            conn.execute(drop)
        except psycopg.errors.LockNotAvailable:
            for (pid,) in conn.execute(_IDLE_HOLDERS, (schema,)).fetchall():
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("SET lock_timeout = 0")
            conn.execute(drop)
