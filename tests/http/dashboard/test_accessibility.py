"""axe-core (WCAG 2 A and AA rules: labels, contrast, landmarks) on the main pages, in
Debian's Chromium. axe-core comes from npm (``npm pack``, cached in .venv/axe-core/) and is
injected by the test only, never shipped."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.http.dashboard.demo import dead_letter, make_app, settled
from tests.http.dashboard.test_browser import browser  # noqa: F401  (the fixture)
from tests.http.server import serving

pytestmark = pytest.mark.slow
CACHE = Path(__file__).resolve().parents[3] / ".venv" / "axe-core"
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}


def _axe() -> Path:
    script = CACHE / "package" / "axe.min.js"
    if script.exists():
        return script
    if shutil.which("npm") is None:
        pytest.skip("AXE CHECKS NOT RUN: npm is missing (axe-core comes from npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "pack", "axe-core@4", "--silent"],
        cwd=CACHE,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.skip(f"AXE CHECKS NOT RUN: npm pack axe-core failed: {done.stderr[-300:]}")
    with tarfile.open(CACHE / done.stdout.strip().splitlines()[-1]) as tar:
        tar.extractall(CACHE, filter="data")
    return script


async def test_main_pages_have_no_axe_violations(store_url: str, browser: Any) -> None:  # noqa: F811
    axe = _axe()
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        await dead_letter(app, "lost")
        arn = await app.start_execution("Checkout", {"fail": True})
        await settled(app, arn)
        # Only the test's own axe script needs the CSP bypassed; the pages' CSP stays.
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        found: dict[str, Any] = {}
        try:
            for path in (
                "/ui/",
                "/ui/queues/orders-dlq",
                f"/ui/executions/{arn}",
                "/ui/breakers",
                "/ui/buses",
                "/ui/machines",
                "/ui/audit",
                "/ui/alarms",
                "/ui/functions",
                "/ui/chaos",
            ):
                await page.goto(f"{client.base_url}{path}")
                await page.add_script_tag(path=str(axe))
                result = await page.evaluate("(rules) => axe.run(document, rules)", RULES)
                assert result["passes"], "axe checked nothing"
                bad = [
                    (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
                ]
                if bad:
                    found[path] = bad
        finally:
            await context.close()
        assert not found, found
