"""``stormproof bench machines`` runs end to end on a tiny workload (figures not judged)."""

from __future__ import annotations

from pathlib import Path

from stormproof.bench import machines


def test_bench_machines_smoke(tmp_path: Path) -> None:
    report = machines.run(f"sqlite:///{tmp_path}/b.db", executions=20, workers=1, map_executions=2)
    rows = report["rows"]
    assert [(r["machine"], r["mode"]) for r in rows] == [
        ("pass-choice", "in-process"),
        ("pass-choice", "1 workers"),
        ("map-100", "in-process"),
        ("map-100", "1 workers"),
        ("distributed-map-100", "in-process"),
        ("distributed-map-100", "1 workers"),
    ]
    assert all(r["succeeded"] == r["executions"] for r in rows)
    assert rows[0]["transitions_per_execution"] == 10
    assert rows[2]["transitions_per_execution"] == 102
    assert rows[4]["transitions_per_execution"] == 102  # Pass, Map, then 100 children's Pass
    machines.render(report)


def test_bench_machines_tasks_smoke(tmp_path: Path) -> None:
    report = machines.run(f"sqlite:///{tmp_path}/b.db", executions=10, workers=1, tasks=True)
    assert [r["machine"] for r in report["rows"]] == ["tasks-10", "tasks-10"]
    for row in report["rows"]:
        assert row["succeeded"] == 10
        assert row["transitions_per_execution"] == 10
