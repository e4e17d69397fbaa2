"""DBOS: a queue of workflows (one per job, the workflow records its id), one executor.

``--variant sqlite``: the system database is a file in the work directory, put in WAL
mode with ``synchronous=NORMAL`` on every connection (DBOS leaves SQLite's rollback
journal otherwise; these are the settings stormproof's SQLite store uses).
``--variant postgresql``: the peer's own database. Enqueue: ``DBOSClient.enqueue`` per
job (no batch enqueue). Drain: ``DBOS.register_queue(worker_concurrency=C,
polling_interval_sec=0.01)``: the default poll of 1 s would start at most C workflows a
second. Guarantee: the workflow's completion is recorded once (exactly-once workflow
status); its body runs at least once (re-run on recovery), durable on commit.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import threading
from typing import Any

import peerlib
import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig

QUEUE = "peers"
POLL = 0.01


def _url(args: argparse.Namespace) -> str:
    if args.variant == "postgresql":
        return str(args.db).replace("postgresql://", "postgresql+psycopg://", 1)
    path = os.path.join(os.path.abspath(args.workdir), "dbos.sqlite")
    if not os.path.exists(path):
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file
    return f"sqlite:///{path}"


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_normal(dbapi_conn: Any, record: Any) -> None:
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")


@DBOS.workflow(name="job")
def job(i: int) -> None:
    peerlib.record(i)


def _launch(args: argparse.Namespace) -> None:
    config: DBOSConfig = {"name": "peers", "system_database_url": _url(args)}
    DBOS(config=config)
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=args.c, polling_interval_sec=POLL)


_clients: list[DBOSClient] = []


def setup(args: argparse.Namespace) -> None:
    _launch(args)  # creates the system database's tables and the queue's row
    DBOS.destroy()
    _clients.append(DBOSClient(system_database_url=_url(args)))


def enqueue(args: argparse.Namespace, ids: list[int]) -> None:
    client = _clients[0]
    for i in ids:
        client.enqueue({"queue_name": QUEUE, "workflow_name": "job"}, i)


def teardown(args: argparse.Namespace) -> None:
    for client in _clients:
        client.destroy()


def worker(args: argparse.Namespace) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _launch(args)
    stop.wait()
    DBOS.destroy()


if __name__ == "__main__":
    peerlib.main(
        peerlib.Peer(
            "dbos",
            setup,
            enqueue,
            worker,
            teardown,
            lambda: peerlib.installed("dbos", "SQLAlchemy", "psycopg"),
        )
    )
