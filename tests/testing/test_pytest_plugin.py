"""The shipped pytest plugin, run for real by pytester in a subprocess (issue 11 item 14).

The test file it runs is the example of docs/testing.md, so the documentation is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def _example() -> str:
    match = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert match, "docs/testing.md has no python example"
    return match.group(1)


def test_the_documented_example_passes_with_the_installed_plugin(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user_app=_example())
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


def test_the_store_fixture_points_a_storeless_app_at_a_temporary_file(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_store="""
        import os
        from stormproof import App

        def test_store(stormproof_store, tmp_path):
            assert stormproof_store.startswith("sqlite:///")
            assert str(tmp_path) in stormproof_store
            assert App("mine").store_url == stormproof_store == os.environ["STORMPROOF_STORE"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
