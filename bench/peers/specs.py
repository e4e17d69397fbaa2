"""The peers: which script, venv and services each needs, its settings and guarantees."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """One row of the comparison."""

    script: str
    venv: str | None  # None: the project's own venv (the Python running run.py)
    store: str
    settings: str
    guarantees: str
    variant: str = ""
    postgres: bool = False
    redis: bool = False

    @property
    def has_server(self) -> bool:
        """Whether a database server does part of the work (SQLite's is in the client)."""
        return self.postgres or self.redis


_SP = "at-least-once (deleted after the handler returned); a send is committed when it returns"
PEERS: dict[str, Spec] = {
    "stormproof-sqlite": Spec(
        "peer_stormproof.py",
        None,
        "SQLite",
        "`send_many` (1,000/transaction); worker concurrency C, mapping batch 10; WAL, "
        "`synchronous=NORMAL` (survives a process crash; an OS crash may lose the last "
        "transactions)",
        _SP,
        variant="sqlite",
    ),
    "stormproof-postgresql": Spec(
        "peer_stormproof.py",
        None,
        "PostgreSQL",
        "`send_many` (1,000/transaction); worker concurrency C, mapping batch 10",
        _SP,
        variant="postgresql",
        postgres=True,
    ),
    "huey": Spec(
        "peer_huey.py",
        "huey",
        "SQLite",
        "`SqliteHuey` (WAL, SQLite's default `synchronous`), one `enqueue` per job (no batch "
        "API), thread consumer of C workers",
        "at-most-once: a task is deleted when dequeued, lost if its worker dies",
    ),
    "pgqueuer": Spec(
        "peer_pgqueuer.py",
        "pgqueuer",
        "PostgreSQL",
        "batch `enqueue` of 1,000 (asyncpg); `QueueManager.run()` defaults: batch 10, no cap "
        "on jobs in flight (a cap of C forces batches of C/2: 3x slower here)",
        "at-least-once (a stale heartbeat re-picks the job); committed inserts",
        postgres=True,
    ),
    "procrastinate": Spec(
        "peer_procrastinate.py",
        "procrastinate",
        "PostgreSQL",
        "`batch_defer` of 1,000; `run_worker_async(concurrency=C)`, LISTEN/NOTIFY, jobs kept",
        "at-least-once once `retry_stalled_jobs` runs (a dead worker's job stays `doing`); "
        "committed inserts",
        postgres=True,
    ),
    "dramatiq": Spec(
        "peer_dramatiq.py",
        "dramatiq",
        "Redis (AOF everysec)",
        "`RedisBroker`, one `send` per job (`group` sends one by one), one worker process "
        "of C threads, default prefetch",
        "at-least-once (acks after the actor ran; a dead worker's messages are requeued); "
        "AOF everysec may lose the last second",
        redis=True,
    ),
    "celery": Spec(
        "peer_celery.py",
        "celery",
        "Redis (AOF everysec)",
        "Redis broker, `apply_async` per job on one producer connection, prefork pool of C, "
        "`task_acks_late`, default prefetch (4 per process), no result backend",
        "at-least-once with `acks_late` (redelivered after the visibility timeout); AOF "
        "everysec may lose the last second",
        redis=True,
    ),
    "dbos-sqlite": Spec(
        "peer_dbos.py",
        "dbos",
        "SQLite",
        "`register_queue(worker_concurrency=C, polling_interval_sec=0.01)` (the default 1 s "
        "poll starts at most C a second), `DBOSClient.enqueue` per job (no batch API); one "
        "workflow per job; system database in WAL, `synchronous=NORMAL`",
        "workflow status recorded once; its body at-least-once (re-run on recovery); durable",
        variant="sqlite",
    ),
    "dbos-postgresql": Spec(
        "peer_dbos.py",
        "dbos",
        "PostgreSQL",
        "`register_queue(worker_concurrency=C, polling_interval_sec=0.01)`, "
        "`DBOSClient.enqueue` per job (no batch API); one workflow per job",
        "workflow status recorded once; its body at-least-once (re-run on recovery); durable",
        variant="postgresql",
        postgres=True,
    ),
}
PEERS["rq"] = Spec(
    "peer_rq.py",
    "rq",
    "Redis (AOF everysec)",
    "`enqueue_many` of 1,000 per pipeline; `WorkerPool` of C forking workers (RQ's default "
    "`Worker`: a fork per job)",
    "a dead worker's job goes to the failed registry, not retried (at-most-once by default); "
    "AOF everysec may lose the last second",
    redis=True,
)
PEERS["arq"] = Spec(
    "peer_arq.py",
    "arq",
    "Redis (AOF everysec)",
    "`enqueue_job` per job (no batch API); one worker, `max_jobs=C`, default `poll_delay` 0.5 s",
    "at-least-once (a job runs again once a dead worker's in-progress key expires); AOF "
    "everysec may lose the last second",
    redis=True,
)
