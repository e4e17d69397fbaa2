"""The dashboard in a real browser: Debian's Chromium headless driven by Playwright (no
browser download). Opens the overview (timed, with 100 queues), a DLQ message, redrives
it and watches the queue drain, opens a failed execution and sees the failed state in the
graph, trips a breaker and sees it open and its alarm fire, lists the functions, and
stops a chaos fault with the kill switch, taking screenshots on the way."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from tests.http.dashboard.demo import dead_letter, make_app, settled
from tests.http.server import serving

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("STORMPROOF_CHROMIUM", "/usr/bin/chromium")
# From the request's start to the end of the load event, as the browser measured it.
_LOAD_MS = (
    "(() => { const n = performance.getEntriesByType('navigation')[0];"
    " return n.loadEventEnd - n.startTime; })()"
)
IMG = Path(__file__).resolve().parents[3] / "docs" / "img"


def _browser_or_skip() -> Any:
    """The Playwright module; in CI a missing browser fails, elsewhere it skips loudly."""
    missing = []
    if not shutil.which(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright import async_api
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
        async_api = None
    if missing:
        message = "BROWSER TESTS NOT RUN: missing " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return async_api


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    api = _browser_or_skip()
    async with api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def _populate(app: App) -> str:
    for i in range(100):
        await app.create_queue(f"load-{i:03d}")
    await dead_letter(app, '{"order": 7, "note": "<script>alert(1)</script>"}')
    arn = await app.start_execution("Checkout", {"fail": True})
    await settled(app, arn)
    return arn


async def test_dashboard_in_chromium(store_url: str, browser: Any, tmp_path: Path) -> None:
    # STORMPROOF_SCREENSHOTS=docs refreshes the committed ones (docs/img/, the README's).
    shots = IMG if os.environ.get("STORMPROOF_SCREENSHOTS") == "docs" else tmp_path
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        arn = await _populate(app)
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        try:  # the page's open event streams would hold the server's shutdown
            await _walk(app, page, str(client.base_url), arn, shots)
        finally:
            await page.close()


async def _walk(app: App, page: Any, base: str, arn: str, shots: Path) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    await page.goto(f"{base}/ui/audit")  # warm: a renderer process and the static files
    started = time.perf_counter()
    await page.goto(f"{base}/ui/", wait_until="load")
    elapsed = time.perf_counter() - started
    timing = await page.evaluate(_LOAD_MS)
    print(f"overview with 102 queues: {elapsed * 1000:.0f} ms wall, {timing:.0f} ms navigation")
    assert elapsed < 1.0, f"overview took {elapsed:.2f}s with 100 queues"
    assert await page.locator("#queue-rows tr").count() == 100  # one server-side page
    assert await page.locator("#dlq-rows tr.alert >> text=orders-dlq").count() == 1
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / "dashboard-overview.png"))

    await page.click("#dlq-rows a:has-text('orders-dlq')")
    await page.locator("a[href^='/ui/queues/orders-dlq/messages/']").first.click()
    await page.wait_for_selector("text=receive count")
    assert "<script>alert(1)</script>" in await page.locator("pre").first.inner_text()

    await page.goto(f"{base}/ui/queues/orders-dlq")
    await page.wait_for_selector("#h-fail")  # the Failures section (error details)
    await page.screenshot(path=str(shots / "dashboard-dlq.png"), full_page=True)
    await page.fill("#f-rate", "20")
    await page.click("button:has-text('Redrive')")
    await page.wait_for_selector("#redrive-progress:has-text('COMPLETED')", timeout=15000)
    assert (await (await app.get_queue("orders-dlq")).stats()).total == 0
    await page.reload()
    assert "visible <b>0</b>" in await page.content()

    await page.goto(f"{base}/ui/executions/{arn}")
    failed = page.locator("g.state[data-state='Charge']")
    assert await failed.get_attribute("data-status") == "failed"
    assert await failed.locator("rect").get_attribute("fill") == "#cf222e"
    await page.screenshot(path=str(shots / "dashboard-execution.png"))

    await page.goto(f"{base}/ui/breakers")
    await page.click("button:has-text('Force open')")
    await page.wait_for_selector("span.state-open")
    assert await page.locator("span.state-open").inner_text() == "open"
    await _alarms_functions_chaos(app, page, base, shots)
    assert not errors, errors


async def _alarms_functions_chaos(app: App, page: Any, base: str, shots: Path) -> None:
    """The open breaker fires its built-in alarm (the app evaluates in-process); the
    Functions page lists the function; the Chaos page's kill switch removes a fault."""
    for _ in range(100):
        await page.goto(f"{base}/ui/alarms")
        if await page.locator("tr.alert >> text=breaker:payments").count():
            break
        await page.wait_for_timeout(100)
    assert await page.locator("tr.alert >> text=breaker:payments").count() == 1
    await page.screenshot(path=str(shots / "dashboard-alarms.png"))
    await page.goto(f"{base}/ui/")
    assert await page.locator("#h-a + table >> text=breaker:payments").count() == 1

    await page.goto(f"{base}/ui/functions")
    assert await page.locator("td >> text=ship").count() == 1

    await app.chaos.inject(
        {"target": "function:ship", "action": "error", "error": "ConnectionError", "duration": 60}
    )
    await page.goto(f"{base}/ui/chaos")
    assert await page.locator("td >> text=function:ship").count() == 1
    await page.screenshot(path=str(shots / "dashboard-chaos.png"))
    await page.click("button:has-text('kill switch')")
    await page.wait_for_selector("text=none")
    assert await app.chaos.faults() == []
