"""A tiny run of ``stormproof bench streams`` on both stores: the report's shape (and that
every latency sample reached the handler). Nothing here is timed."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stormproof.cli import main


def test_bench_streams_report(store_url: str) -> None:
    args = ["bench", "streams", "--store", store_url, "-n", "600", "--latency-samples", "5"]
    done = CliRunner().invoke(main, [*args, "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert [c["shards"] for c in report["cases"]] == [1, 8]
    for case in report["cases"]:
        assert case["written_per_s"] > 0 and case["consumed_per_s"] > 0
        assert case["latency_samples"] == 5
