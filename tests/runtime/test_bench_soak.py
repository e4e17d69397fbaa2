"""A few seconds of ``stormproof bench soak`` on both stores: the report's shape, nothing
lost. Not timed (the 30-minute verdicts are tests/acceptance/test_soak.py's)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stormproof.bench import soak
from stormproof.cli import main

SHORT = soak.Settings(minutes=0.05, interval=1.0, warmup=1.0, capacity_messages=300)


def test_bench_soak_run(store_url: str) -> None:
    report = soak.run(store_url, SHORT)
    assert report["store"] == ("sqlite" if store_url.startswith("sqlite") else "postgres")
    assert report["capacity_per_s"] > 0
    assert report["rate_per_s"] == report["load"] * report["capacity_per_s"]
    assert report["sent"] > 0 and report["handled"] == report["sent"] + 300
    assert report["lost"] == 0 and report["duplicates"] == 0
    assert report["left_in_queue"] == 0
    intervals = report["intervals"]
    assert len(intervals) == 3
    assert [i["t_s"] for i in intervals] == sorted(i["t_s"] for i in intervals)
    assert sum(i["messages"] for i in intervals) <= report["sent"]
    for sample in intervals:
        assert sample["rss_mb"] > 0 and sample["depth"] >= 0 and sample["sent_per_s"] > 0
        assert 0 < sample["p50_ms"] <= sample["p99_ms"]
    assert report["rss_start_mb"] == intervals[0]["rss_mb"]
    assert report["rss_end_mb"] == intervals[-1]["rss_mb"]
    assert report["latency"]["end"]["p99_ms"] == intervals[-1]["p99_ms"]


def test_bench_soak_command(store_url: str) -> None:
    args = ["bench", "soak", "--store", store_url, "--minutes", "0.02", "--interval", "0.5"]
    args += ["--warmup", "0", "--capacity-messages", "100"]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["lost"] == 0 and report["batch_size"] == 10 and report["concurrency"] == 10
    assert len(report["intervals"]) == 2
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "lost 0, duplicates 0" in table.output
