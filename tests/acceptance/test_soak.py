"""The 30-minute soak (issue 20, item 7): a no-op function at half its capacity on each
store; RSS grows < 10 % from the end of minute 1 to the end, the last interval's latency
p99 is at most twice the baseline's, and nothing is lost.

Marked ``soak``: scripts/test deselects it (``-m "not soak"``, so it is not a skip); run it
with ``scripts/test -m soak tests/acceptance/test_soak.py``.
"""

from __future__ import annotations

import json

import pytest

from stormproof.bench import soak

MINUTES = 30


@pytest.mark.soak
@pytest.mark.timeout(MINUTES * 60 + 600)
def test_half_capacity_for_thirty_minutes(store_url: str, request: pytest.FixtureRequest) -> None:
    if "soak" not in (request.config.option.markexpr or ""):
        pytest.skip("soak test: run with -m soak")
    report = soak.run(store_url, soak.Settings(minutes=MINUTES, load=0.5))
    print(json.dumps(report))  # the whole report, intervals too, for the docs (-s)
    assert report["lost"] == 0 and report["left_in_queue"] == 0
    assert report["rss_growth_pct"] < 10
    start, end = report["latency"]["start"], report["latency"]["end"]
    assert end["p99_ms"] <= 2 * start["p99_ms"], (start, end)
