"""The shipped experiments (examples/chaos/) in their short form, on both stores: with the
protection the hypothesis holds and nothing is lost; without it the report shows the
failure. Each run is a real one: an HTTP dependency on loopback, real worker processes
SIGKILLed, the report's plot rendered."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stormproof.cli.chaos_run import run
from tests.conftest import _with_schema, require_postgres
from tests.support.postgres import drop_schema

ROOT = Path(__file__).resolve().parents[2]
CHAOS = ROOT / "examples" / "chaos"


def chaos_run(
    experiment: str, app: str, store_url: str, tmp_path: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    """Run ``stormproof chaos run`` in-process; its exit code and report.json."""
    folder = tmp_path / f"report-{app}"
    args = [
        str(CHAOS / experiment),
        "--app",
        f"examples.chaos.apps:{app}",
        "--store",
        store_url,
        "--report",
        str(folder),
        *extra,
    ]
    result = CliRunner().invoke(run, args, catch_exceptions=False)
    report = json.loads((folder / "report.json").read_text())
    return result.exit_code, report


def _plot_ok(report_dir: Path) -> None:
    png = report_dir / "plot.png"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples.chaos.apps importable, here and in worker processes


def test_outage_with_a_breaker_waits_and_drains(store_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("outage.yaml", "outage_breaker", store_url, tmp_path)
    assert code == 0, report
    rec = report["reconciliation"]
    assert rec["lost"] == 0 and rec["dead_lettered"] == 0 and rec["processed"] == rec["sent"]
    assert report["hypothesis_holds"] and report["recovered_in"] is not None
    assert max(report["timeline"]["breaker_state"]["payments"]) == 1.0  # it opened
    assert max(report["timeline"]["queue_depth"]["orders"]) > 20  # the backlog waited
    _plot_ok(tmp_path / "report-outage_breaker")


def test_outage_without_a_breaker_fills_the_dlq(sqlite_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("outage.yaml", "outage_plain", sqlite_url, tmp_path)
    assert code == 1
    rec = report["reconciliation"]
    assert rec["dead_lettered"] > 10 and rec["lost"] == 0
    assert rec["processed"] + rec["dead_lettered"] == rec["sent"]
    assert not report["hypothesis_holds"]
    after = {o["probe"]: o for o in report["steady_state_after"]}
    assert not after["dlq_depth(orders-dlq) <= 0"]["ok"]


def test_retry_storm_with_jitter_has_no_spikes(
    store_url: str, tmp_path: Path, pg_base_url: str | None
) -> None:
    # The hypothesis is about timing (per 50 ms): a machine busy enough to stall the event
    # loop, then release a burst, can break it once (seen in CI at load ~5). It must hold
    # in one of two runs, each on a fresh store; nothing may be lost in any run.
    peaks = []
    for attempt in range(2):
        with _fresh(store_url, tmp_path, attempt, pg_base_url) as url:
            code, report = chaos_run("retry-storm.yaml", "storm_jitter", url, tmp_path)
        assert report["reconciliation"]["lost"] == 0
        peaks.append(report["dependency_peak_to_mean"]["api"])
        if code == 0 and peaks[-1] <= 10.0:
            return
    raise AssertionError(f"the jittered retries peaked in both runs: {peaks}")


@contextmanager
def _fresh(store_url: str, tmp_path: Path, attempt: int, pg: str | None) -> Iterator[str]:
    """``store_url`` first, then a new store beside it (SQLite file or PostgreSQL schema)."""
    if attempt == 0:
        yield store_url
    elif store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/again{attempt}.db"
    else:
        base, schema = require_postgres(pg), f"t_again_{uuid.uuid4().hex[:12]}"
        try:
            yield _with_schema(base, schema)
        finally:
            drop_schema(base, schema)


def test_retry_storm_without_jitter_spikes(sqlite_url: str, tmp_path: Path) -> None:
    # Judged against the jittered run of the same moment, not against a fixed line: the
    # synchronised peaks (12-21x their mean here) shrink on a loaded machine, and so does
    # the jittered figure (5-7x); their order does not change.
    # A machine busy enough to stall the event loop for a wave's width can blur one pair
    # of runs; the order must show in one of two pairs (each pair on fresh stores).
    pairs = []
    for attempt in range(2):
        plain_url = f"sqlite:///{tmp_path}/plain{attempt}.db" if attempt else sqlite_url
        _, plain = chaos_run("retry-storm.yaml", "storm_plain", plain_url, tmp_path)
        other = f"sqlite:///{tmp_path}/jitter{attempt}.db"
        _, jitter = chaos_run("retry-storm.yaml", "storm_jitter", other, tmp_path)
        assert plain["reconciliation"]["lost"] == 0  # slow, synchronised, but it got there
        spikes = plain["dependency_peak_to_mean"]["api"]
        spread = jitter["dependency_peak_to_mean"]["api"]
        pairs.append((spikes, spread))
        if spikes > 1.2 * spread:
            return
    raise AssertionError(f"no synchronised peaks over the jittered run: {pairs}")


def test_workers_sigkilled_under_load_lose_nothing(store_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("kill-workers.yaml", "kill_app", store_url, tmp_path)
    assert code == 0, report
    assert len(report["killed_pids"]) == 3
    rec = report["reconciliation"]
    assert rec["sent"] > 300 and rec["lost"] == 0 and rec["dead_lettered"] == 0


def test_poison_record_with_bisect_drops_only_the_poison(store_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("poison-stream.yaml", "stream_bisect", store_url, tmp_path)
    assert code == 0, report
    rec = report["reconciliation"]
    assert rec["dead_lettered"] == 1 and rec["dead_lettered_healthy"] == 0
    assert rec["processed"] == rec["sent"] - 1 and rec["lost"] == 0


def test_poison_record_without_bisect_drops_its_batch(sqlite_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("poison-stream.yaml", "stream_plain", sqlite_url, tmp_path)
    assert code == 1
    rec = report["reconciliation"]
    assert rec["dead_lettered_healthy"] >= 1 and rec["lost"] == 0


def test_flaky_store_loses_nothing(store_url: str, tmp_path: Path) -> None:
    code, report = chaos_run("flaky-store.yaml", "store_app", store_url, tmp_path)
    assert code == 0, report
    assert report["reconciliation"]["lost"] == 0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The unprotected variants show their failure on SQLite only: the failure is the app's,
    not the store's, and the suite's time is better spent on the protected runs."""
    return f"sqlite:///{tmp_path}/stormproof.db"
