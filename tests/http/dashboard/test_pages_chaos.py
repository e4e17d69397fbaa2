"""The Chaos page over real HTTP on both stores: active faults, stop one, the kill switch
(CSRF-checked, audited), and past experiment reports from the reports directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stormproof import App
from stormproof.core.faults import Fault
from tests.http.dashboard.test_pages import _post
from tests.http.server import serving


def chaos_app(store_url: str) -> App:
    app = App("chaos-ui", store_url)
    app.queue("orders")
    return app


async def test_chaos_page_stops_one_fault_then_all(store_url: str) -> None:
    app = chaos_app(store_url)
    async with serving(app, webhooks=False) as client:
        one = await app.chaos.inject(
            Fault(
                target="function:reserve",
                action="error",
                error="ConnectionError",
                duration=60,
                name="<b>n</b>",
            )
        )
        two = await app.chaos.inject(
            {"target": "store", "action": "latency", "latency": 0.2, "duration": 60}
        )
        html = (await client.get("/ui/chaos")).text
        assert one in html and two in html and "function:reserve" in html
        assert "error ConnectionError" in html and "latency 0.2" in html
        assert "&lt;b&gt;n&lt;/b&gt;" in html and "<b>n</b>" not in html
        assert 'data-confirm="Stop every fault of this app now?"' in html
        refused = await client.post(f"/ui/chaos/faults/{one}/stop", data={"csrf": "stale"})
        assert refused.status_code == 403 and len(await app.chaos.faults()) == 2
        r = await _post(client, "/ui/chaos", f"/ui/chaos/faults/{one}/stop")
        assert r.status_code == 303
        assert [i["id"] for i in await app.chaos.faults()] == [two]
        gone = await _post(client, "/ui/chaos", f"/ui/chaos/faults/{one}/stop")
        assert gone.status_code == 404
        assert (await _post(client, "/ui/chaos", "/ui/chaos/stop")).status_code == 303
        assert await app.chaos.faults() == []
        audit = (await client.get("/ui/audit")).text
        assert "stop every fault" in audit and f"<td>stop fault</td><td>{one}</td>" in audit


async def test_chaos_page_lists_and_serves_reports(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORMPROOF_CHAOS_REPORTS", str(tmp_path))
    (tmp_path / "booking-2026-12-02.md").write_text("# Steady state held\n<script>x</script>\n")
    (tmp_path / "latency.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / ".hidden").write_text("secret")
    (tmp_path.parent / "outside.md").write_text("outside")
    app = chaos_app(store_url)
    async with serving(app, webhooks=False) as client:
        html = (await client.get("/ui/chaos")).text
        assert 'href="/ui/chaos/reports/booking-2026-12-02.md"' in html
        assert "latency.png" in html and ".hidden" not in html
        assert re.search(r"no active fault|<td colspan=\"99\">none</td>", html)
        text = (await client.get("/ui/chaos/reports/booking-2026-12-02.md")).text
        assert "Steady state held" in text and "&lt;script&gt;" in text
        image = await client.get("/ui/chaos/reports/latency.png")
        assert image.headers["content-type"] == "image/png"
        for bad in (".hidden", "..%2Foutside.md", "missing.md"):
            assert (await client.get(f"/ui/chaos/reports/{bad}")).status_code == 404
