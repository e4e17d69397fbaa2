"""Benchmark: events matched per second through a ``PatternSet`` of mixed-operator rules.

Rules and events are generated from a seed, so two runs with the same arguments measure the same
work. Each rule names a ``source`` (one of 20) and one or two more fields with an operator drawn
from the whole language (exact, prefix, suffix, equals-ignore-case, wildcard, anything-but,
numeric, cidr, exists, ``$or``); events draw their values from the same vocabularies, so a share
of them match. Latency is measured per ``PatternSet.matching`` call on already-parsed events.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from stormproof.patterns import PatternSet

SOURCES = [f"svc.{name}" for name in ("orders", "billing", "users", "audit", "search")] + [
    f"app.team{n}" for n in range(15)
]
DETAIL_TYPES = ["Order Placed", "Order Shipped", "Payment Failed", "User Created", "Audit Entry"]
STATES = ["pending", "running", "stopped", "failed", "done", "queued"]

Rule = dict[str, Any]


def _operators(rng: random.Random) -> list[Callable[[], Rule]]:
    """One factory per operator, each returning the ``detail`` part of a rule."""
    return [
        lambda: {"state": [rng.choice(STATES), rng.choice(STATES)]},
        lambda: {"file": [{"prefix": f"dir{rng.randrange(10)}/"}]},
        lambda: {"file": [{"suffix": rng.choice([".png", ".txt", ".csv"])}]},
        lambda: {"state": [{"equals-ignore-case": rng.choice(STATES).upper()}]},
        lambda: {"file": [{"wildcard": f"dir{rng.randrange(10)}/*.{rng.choice(['png', 'txt'])}"}]},
        lambda: {"state": [{"anything-but": rng.sample(STATES, 2)}]},
        lambda: {"count": [{"numeric": [">", rng.randrange(50), "<=", 50 + rng.randrange(50)]}]},
        lambda: {"ip": [{"cidr": f"10.{rng.randrange(4)}.0.0/16"}]},
        lambda: {"user": {"id": [{"exists": rng.random() < 0.8}]}},
        lambda: {
            "$or": [{"count": [{"numeric": ["<", rng.randrange(20)]}]}, {"state": ["failed"]}]
        },
    ]


def make_rules(count: int, rng: random.Random) -> list[Rule]:
    """``count`` rules, each a ``source`` plus one or two operator fields under ``detail``."""
    operators = _operators(rng)
    rules: list[Rule] = []
    for _ in range(count):
        detail: Rule = {}
        for _ in range(rng.choice((1, 1, 2))):
            detail.update(rng.choice(operators)())
        rule: Rule = {"source": [rng.choice(SOURCES)], "detail": detail}
        if rng.random() < 0.5:
            rule["detail-type"] = [rng.choice(DETAIL_TYPES)]
        rules.append(rule)
    return rules


def make_event(rng: random.Random, number: int) -> dict[str, Any]:
    """One event with the EventBridge envelope and a ``detail`` the rules look at."""
    detail: dict[str, Any] = {
        "state": rng.choice(STATES),
        "file": f"dir{rng.randrange(12)}/report{rng.randrange(100)}.{rng.choice(['png', 'txt'])}",
        "count": rng.randrange(100),
        "ip": f"10.{rng.randrange(6)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "items": [{"sku": f"sku-{rng.randrange(50)}", "qty": rng.randrange(5)} for _ in range(3)],
    }
    if rng.random() < 0.5:
        detail["user"] = {"id": f"u{rng.randrange(1000)}", "tier": rng.choice(["free", "pro"])}
    return {
        "version": "0",
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "detail-type": rng.choice(DETAIL_TYPES),
        "source": rng.choice(SOURCES),
        "account": "111111111111",
        "time": "2024-01-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def _measure(rules: PatternSet[int], events: list[dict[str, Any]]) -> dict[str, float]:
    for event in events[:50]:
        rules.matching(event)  # warm caches before timing
    timings: list[int] = []
    matched = 0
    clock = time.perf_counter_ns
    for event in events:
        start = clock()
        matched += len(rules.matching(event))
        timings.append(clock() - start)
    timings.sort()
    total_s = sum(timings) / 1e9
    return {
        "rules": float(len(rules)),
        "events_per_s": len(events) / total_s if total_s else float("inf"),
        "p50_us": statistics.median(timings) / 1e3,
        "p99_us": timings[min(len(timings) - 1, int(len(timings) * 0.99))] / 1e3,
        "matches_per_event": matched / len(events),
    }


def run(
    rule_counts: tuple[int, ...] = (10, 100, 1000), events: int = 2000, seed: int = 0
) -> list[dict[str, float]]:
    """Match ``events`` generated events against each rule count; one row of figures each.

    Rows hold ``rules``, ``events_per_s``, ``p50_us``, ``p99_us`` and ``matches_per_event``.
    """
    rows: list[dict[str, float]] = []
    for count in rule_counts:
        rng = random.Random(f"{seed}:{count}")
        rules: PatternSet[int] = PatternSet()
        for rule_id, rule in enumerate(make_rules(count, rng)):
            rules.add(rule_id, rule)
        sample = [make_event(rng, n) for n in range(events)]
        rows.append(_measure(rules, sample))
    return rows


def main() -> None:
    """Run the benchmark with its defaults and print a table."""
    print(f"{'rules':>7} {'events/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'matches/event':>14}")
    for row in run():
        print(
            f"{row['rules']:>7.0f} {row['events_per_s']:>10.0f} {row['p50_us']:>8.1f} "
            f"{row['p99_us']:>8.1f} {row['matches_per_event']:>14.2f}"
        )


if __name__ == "__main__":
    main()
