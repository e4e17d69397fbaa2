"""A conformance test that skips is a failure: the vectors are in the repository, so a
skip means a case silently stopped being checked (an xfail for a documented deviation is
still allowed)."""

from __future__ import annotations

import pytest

from tests.conformance import VECTORS

FILES = (
    "eventbridge/patterns.json",
    "eventbridge/patterns_extra.json",
    "eventbridge/input_transformers.json",
    "stepfunctions/cases.json",
    "asl_validation/cases.json",
)


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Fail collection at once when a vector file is missing (never skip for it)."""
    missing = [name for name in FILES if not (VECTORS / name).is_file()]
    if missing:
        raise pytest.UsageError(f"conformance vectors missing under {VECTORS}: {missing}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Turn a skip of a conformance test into a failure (xfail outcomes are untouched)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"conformance test skipped (a skip is a failure here): {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    """Turn a module-level skip (``pytest.skip(allow_module_level=True)``) into a failure."""
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()
    if report.skipped:
        report.outcome = "failed"
        reason = report.longrepr
        report.longrepr = f"conformance module skipped (a skip is a failure here): {reason}"
