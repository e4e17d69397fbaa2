"""CORS is off by default and answers per route when declared."""

from __future__ import annotations

import pytest

from stormproof.errors import InvalidAttribute
from stormproof.gateway.routes import cors_of
from tests.http import frontdoor_app as fa
from tests.http.server import serving

SHOP = {"origin": "https://shop.example"}


async def test_cors_per_route(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        ask = {**SHOP, "access-control-request-method": "POST"}
        pre = await client.options("/cors", headers=ask)
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://shop.example"
        assert pre.headers["access-control-allow-methods"] == "POST"
        assert "idempotency-key" in pre.headers["access-control-allow-headers"]
        assert pre.headers["access-control-max-age"] == "60"
        other = {"origin": "https://evil.example", "access-control-request-method": "POST"}
        assert (await client.options("/cors", headers=other)).status_code == 403
        posted = await client.post("/cors", json={"qty": 1}, headers=SHOP)
        assert posted.status_code == 202
        assert posted.headers["access-control-allow-origin"] == "https://shop.example"
        assert "Location" in posted.headers["access-control-expose-headers"]
        refused = await client.post("/cors", content=b"{", headers=SHOP)  # errors carry it too
        assert refused.status_code == 400 and "access-control-allow-origin" in refused.headers
        # On a GET route too ("*": any origin).
        pre = await client.options(
            "/busy/x", headers={**SHOP, "access-control-request-method": "GET"}
        )
        assert pre.status_code == 204 and pre.headers["access-control-allow-methods"] == "GET"
        got = await client.get("/busy/x", headers=SHOP)
        assert got.headers["access-control-allow-origin"] == "https://shop.example"
        # Off by default: no CORS headers, and no preflight route.
        plain = await client.post("/orders", json={"qty": 1}, headers=SHOP)
        assert "access-control-allow-origin" not in plain.headers
        assert (await client.options("/orders", headers=ask)).status_code == 405


def test_bad_cors_settings_name_the_field() -> None:
    for bad, field in [
        ({"origins": []}, "cors"),
        ({"origin": ["x"]}, "cors"),
        ({"origins": ["x"], "max_age": -1}, "cors.max_age"),
    ]:
        with pytest.raises(InvalidAttribute) as info:
            cors_of(bad)
        assert info.value.field == field
