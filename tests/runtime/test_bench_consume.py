"""A tiny run of ``stormproof bench consume`` on both stores: the report's shape. Not timed."""

from __future__ import annotations

import json

from click.testing import CliRunner

import stormproof.cli.bench_consume  # noqa: F401 - registers the command
from stormproof.bench import consume
from stormproof.cli import main


def test_bench_consume_run(store_url: str) -> None:
    report = consume.run(store_url, messages=300, rounds=2, latency_samples=10)
    assert report["store"] == ("sqlite" if store_url.startswith("sqlite") else "postgres")
    assert report["rounds"] == 2 and len(report["functions_rounds"]) == 2
    assert report["engine_receive_delete_per_s"] > 0 and report["functions_per_s"] > 0
    assert report["ratio"] > 0
    assert report["left_in_queues"] == 0
    latency = report["latency"]
    assert latency["samples"] == 10
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]


def test_bench_consume_command(store_url: str) -> None:
    args = ["bench", "consume", "--store", store_url, "-n", "50", "--rounds", "1"]
    result = CliRunner().invoke(main, [*args, "--latency-samples", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["messages"] == 50 and report["batch_size"] == 10
    table = CliRunner().invoke(main, [*args, "--latency-samples", "3", "--unreserved"])
    assert table.exit_code == 0, table.output
    assert "ratio functions/engine" in table.output
