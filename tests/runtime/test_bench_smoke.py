"""A tiny run of ``stormproof bench queue`` on both stores: the report's shape and the
exactly-once processing of every message, on both paths. Nothing here is timed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
from click.testing import CliRunner

from stormproof import App
from stormproof.bench import queue as bench_queue
from stormproof.cli import main

RATES = ("send_per_s", "receive_delete_per_s", "end_to_end_per_s")


def _check(report: dict[str, object], messages: int, samples: int) -> None:
    for path in ("stormproof", "bare"):
        figures = report[path]
        assert isinstance(figures, dict)
        for rate in RATES:
            assert figures[rate] > 0
        # Two phases of `messages` each: every one received and deleted exactly once.
        assert figures["processed"] == 2 * messages
        assert figures["duplicates"] == 0
        assert figures["missing"] == 0
    assert isinstance(report["ratio"], float) and report["ratio"] > 0
    ratios = report["ratios"]
    assert isinstance(ratios, dict) and set(ratios) == set(RATES)
    latency = report["latency"]
    assert isinstance(latency, dict)
    assert latency["samples"] == samples
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]


def _leftover_files(store_url: str) -> list[str]:
    """SQLite files the benchmark created beside the store and should have removed."""
    if not store_url.startswith("sqlite"):
        return []
    folder = Path(urlsplit(store_url).path[1:]).parent
    return [p.name for p in folder.iterdir() if ".stormproof_" in p.name or ".bare_" in p.name]


def _schema_exists(store_url: str, schema: str) -> bool:
    dsn = urlsplit(store_url)._replace(query="").geturl()
    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        return found.fetchone() is not None


def test_bench_queue_run(store_url: str) -> None:
    report = bench_queue.run(store_url, messages=200, consumers=3, latency_samples=20)
    assert report["store"] == ("sqlite" if store_url.startswith("sqlite") else "postgres")
    assert report["messages"] == 200 and report["consumers"] == 3 and report["batch"] == 10
    _check(report, 200, 20)
    assert _leftover_files(store_url) == []


def test_bench_queue_command(store_url: str) -> None:
    args = ["bench", "queue", "--store", store_url, "-n", "55", "-c", "2"]
    result = CliRunner().invoke(main, [*args, "--latency-samples", "5", "--json"])
    assert result.exit_code == 0, result.output
    _check(json.loads(result.output), 55, 5)
    table = CliRunner().invoke(main, [*args, "--latency-samples", "5"])
    assert table.exit_code == 0, table.output
    assert "end-to-end" in table.output and "ratio" in table.output


async def _create(url: str) -> None:
    async with App("probe", url):
        pass


def test_fresh_store_is_removed(store_url: str) -> None:
    with bench_queue.fresh_store(store_url, "probe") as url:
        asyncio.run(_create(url))
        if store_url.startswith("sqlite"):
            assert ".probe_" in url and Path(urlsplit(url).path[1:]).exists()
        else:
            schema = dict(parse_qsl(urlsplit(url).query))["schema"]
            assert schema.startswith("bench_probe_") and _schema_exists(store_url, schema)
    if store_url.startswith("sqlite"):
        assert not Path(urlsplit(url).path[1:]).exists()
    else:
        assert not _schema_exists(store_url, schema)
