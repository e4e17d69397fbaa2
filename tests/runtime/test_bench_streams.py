"""A tiny run of ``stormproof bench streams`` on both stores: the report's shape (and that
every latency sample reached the handler). Nothing here is timed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from stormproof.cli import main

SPREAD = {"samples", "p50_ms", "p99_ms", "max_ms"}


def test_bench_streams_report(store_url: str) -> None:
    args = ["bench", "streams", "--store", store_url, "-n", "600", "--latency-samples", "5"]
    done = CliRunner().invoke(main, [*args, "--age-seconds", "0.3", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert [c["shards"] for c in report["cases"]] == [1, 8]
    for case in report["cases"]:
        assert case["written_per_s"] > 0 and case["consumed_per_s"] > 0
        assert case["latency_samples"] == 5
        age = case["iterator_age"]
        capacity = 1 / (1 / case["written_per_s"] + 1 / case["consumed_per_s"])
        assert age["capacity_per_s"] == pytest.approx(capacity)
        assert age["target_per_s"] == pytest.approx(capacity / 2)
        assert age["produced_per_s"] > 0 and age["seconds"] == 0.3
        assert age.keys() >= SPREAD and age["samples"] > 0
        assert age["p50_ms"] <= age["p99_ms"] <= age["max_ms"]
        shards = age["shards"]
        assert len(shards) <= case["shards"] and sum(s["samples"] for s in shards) == age["samples"]
        for shard in shards:
            assert shard["shard_id"].startswith("shardId-") and shard.keys() >= SPREAD


def test_bench_streams_refuses_a_bad_age_duration() -> None:
    done = CliRunner().invoke(main, ["bench", "streams", "--age-seconds", "0"])
    assert done.exit_code == 2
    assert "--age-seconds" in done.output and "0.1<=x<=600" in done.output
