"""A tiny run of ``stormproof bench controls`` on both stores: the report's shape."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stormproof.cli import main


def test_bench_controls_reports_each_figure(store_url: str) -> None:
    result = CliRunner().invoke(
        main, ["bench", "controls", "--store", store_url, "-n", "200", "-m", "100", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["calls"] == 200
    assert report["breaker"]["closed_check"]["p50_us"] > 0
    assert report["limit"]["decisions_per_s"] > 0
    consume = report["consume"]
    assert consume["messages"] == 100 and consume["none_per_s"] > 0
    assert consume["ratio"] == consume["breaker_per_s"] / consume["none_per_s"]
