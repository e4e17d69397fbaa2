"""A small run of ``stormproof bench bus`` on both stores: every workload delivers each
event exactly once to each of its targets (none lost, none duplicated), and the report's
figures are consistent. Nothing here is timed."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stormproof.cli import main

EVENTS = 60
SAMPLES = 3


def test_bench_bus_delivers_every_event_once_to_every_target(store_url: str) -> None:
    args = ["bench", "bus", "--store", store_url, "-n", str(EVENTS)]
    done = CliRunner().invoke(main, [*args, "--latency-samples", str(SAMPLES), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    shapes = [(w["kind"], w["targets"]) for w in report["workloads"]]
    assert shapes == [(k, n) for k in ("queue", "function", "bus", "http") for n in (1, 5)]
    for w in report["workloads"]:
        assert w["events"] == EVENTS and w["deliveries"] == EVENTS * w["targets"]
        assert (w["delivered"], w["missing"], w["duplicates"]) == (w["deliveries"], 0, 0), w
        assert w["events_per_s"] > 0 and w["deliveries_per_s"] > 0
        assert (w["drain_s"] is None) == (w["kind"] == "queue")
        assert w["latency"]["samples"] == SAMPLES * w["targets"]
        assert w["latency"]["p50_ms"] <= w["latency"]["p99_ms"]
