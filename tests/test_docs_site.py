"""The documentation site (mkdocs.yml, docs/): every page is in the nav and every nav entry
is a page, the tutorial includes the booking example's real code by marker, in the
patterns' order, and the site builds with warnings as errors (links and anchors checked).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import stormproof
import stormproof.testing

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# `--8<-- "examples/booking/app.py:storage-first"` (pymdownx.snippets, a named section).
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[A-Za-z0-9_-]+))?"$', re.M)
# The seeds' order of the patterns, each a tutorial step named after its marker.
STEPS = [
    "storage-first",
    "load-levelling",
    "fan-out",
    "retries",
    "dlq",
    "breaker",
    "saga",
    "load-shedding",
    "async-responses",
    "observability",
    "chaos",
]


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return config


def _nav_pages(node: Any) -> Iterator[str]:
    """Every page path of a nav tree (strings, {title: path} and {title: [children]})."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for child in node:
            yield from _nav_pages(child)
    elif isinstance(node, dict):
        for child in node.values():
            yield from _nav_pages(child)


def _tutorial_includes() -> list[tuple[str, str, str | None]]:
    """(page, included file, section) for every include of the tutorial, in nav order."""
    pages = [p for p in _nav_pages(_config()["nav"]) if p.startswith("tutorial/")]
    found = []
    for page in pages:
        for m in INCLUDE.finditer((DOCS / page).read_text()):
            found.append((page, m["path"], m["section"]))
    return found


def test_the_nav_lists_every_page_and_only_pages() -> None:
    config = _config()
    assert config["docs_dir"] == "docs" and config["strict"] is True
    listed = list(_nav_pages(config["nav"]))
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(set(listed)) == pages, "a page is missing from mkdocs.yml's nav (or extra)"
    assert len(listed) == len(set(listed)), "a page is listed twice in the nav"


def test_links_anchors_and_snippets_are_checked() -> None:
    config = _config()
    for kind in ("links", "nav"):
        assert all(v == "warn" for v in config["validation"][kind].values()), kind
    assert {"not_found", "anchors", "absolute_links"} <= set(config["validation"]["links"])
    snippets = next(e for e in config["markdown_extensions"] if "pymdownx.snippets" in e)
    assert snippets["pymdownx.snippets"] == {"base_path": ["."], "check_paths": True}


def test_the_tutorial_includes_each_pattern_from_the_example_in_order() -> None:
    includes = _tutorial_includes()
    sections = [section for _, _, section in includes]
    assert sections == STEPS, "one include per step, in the seeds' order"
    for page, path, section in includes:
        assert page == f"tutorial/{section}.md", (page, section)
        assert "**The failure it handles:**" in (DOCS / page).read_text(), page
        text = (ROOT / path).read_text()
        start, end = f"--8<-- [start:{section}]", f"--8<-- [end:{section}]"
        assert text.count(start) == 1 and text.count(end) == 1, (path, section)
        assert text.index(start) < text.index(end), (path, section)


def test_every_contract_marker_of_the_example_is_taught() -> None:
    markers = set()
    for source in (ROOT / "examples" / "booking").glob("*.py"):
        markers |= set(re.findall(r"--8<-- \[start:([A-Za-z0-9_-]+)\]", source.read_text()))
    assert markers == set(STEPS), "a marker the tutorial does not include (or one missing)"


@pytest.mark.timeout(180)
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # The real build: broken links or anchors, missing snippets or docstrings that cannot
    # be rendered are warnings, and strict mode turns each into a failed build.
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    result = subprocess.run(
        [*mkdocs, "--site-dir", str(tmp_path / "site")],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=170,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "site" / "tutorial" / "storage-first" / "index.html").read_text()
    assert "BOOKING_SCHEMA" in page and "--8&lt;--" not in page  # the code, not the marker
    assert "queues create" in (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for module, page in ((stormproof, "api"), (stormproof.testing, "testing")):
        html = (tmp_path / "site" / "reference" / page / "index.html").read_text()
        names = [n for n in module.__all__ if not n.startswith("__")]
        ids = set(re.findall(r'id="([A-Za-z0-9_.]+)"', html))
        # A name re-exported from a submodule of its own name is documented at its
        # definition (stormproof.testing.drain.drain): accept either path.
        missing = [
            n for n in names if not ids & {f"{module.__name__}.{n}", f"{module.__name__}.{n}.{n}"}
        ]
        assert missing == [], f"{module.__name__}.__all__ not in the reference: {missing}"


def test_the_how_to_s_test_passes_with_the_installed_plugin(pytester: pytest.Pytester) -> None:
    # The how-to's code is a real test: run it as a user would, in a subprocess.
    text = (DOCS / "howto" / "testing.md").read_text()
    blocks = re.findall(r"^    ```python\n(.*?)^    ```", text, re.S | re.M)
    assert len(blocks) == 1, "the how-to has one python example"
    pytester.makepyfile(test_user_app=textwrap.dedent(blocks[0]))
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_the_readme_links_the_site_and_every_link_resolves() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)#\s]+)", readme)
    for section in (
        "docs/index.md",
        "docs/tutorial/index.md",
        "docs/howto/index.md",
        "docs/reference/index.md",
        "docs/explanation/index.md",
    ):
        assert section in links, section
    assert [link for link in links if not (ROOT / link).exists()] == []
