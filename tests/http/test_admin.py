"""Admin endpoints behind the admin token, over real HTTP; serve's non-loopback refusal."""

from __future__ import annotations

import subprocess
import sys

from tests.http import frontdoor_app as fa
from tests.http.server import serving

TOKEN = "adm-" + "x" * 40


async def test_admin_endpoints_need_the_token_and_manage_keys_and_plans(store_url: str) -> None:
    fa.app.store_url = store_url
    fa.app.api.settings.admin_token = TOKEN
    auth = {"authorization": f"Bearer {TOKEN}"}
    try:
        async with serving(fa.app) as client:
            for headers in ({}, {"authorization": "Bearer wrong"}):
                refused = await client.get("/admin/keys", headers=headers)
                assert refused.status_code == 403
                assert refused.headers["content-type"] == "application/problem+json"
            plan = await client.post("/admin/plans", json={"name": "p1", "quota": 1}, headers=auth)
            assert plan.status_code == 201 and plan.json()["quota"]["limit"] == 1
            bad = await client.post("/admin/plans", json={"name": "p", "rate": -1}, headers=auth)
            assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "throttle.rate"
            odd = await client.post("/admin/plans", json={"name": "p", "colour": 1}, headers=auth)
            assert odd.status_code == 400 and odd.json()["errors"][0]["field"] == "colour"
            made = await client.post("/admin/keys", json={"name": "k", "plan": "p1"}, headers=auth)
            assert made.status_code == 201
            key = made.json()
            use = {"x-api-key": key["secret"]}
            assert (await client.post("/orders", json={"qty": 1}, headers=use)).status_code == 202
            assert (await client.post("/orders", json={"qty": 1}, headers=use)).status_code == 429
            listed = (await client.get("/admin/keys", headers=auth)).json()
            assert [k["id"] for k in listed] == [key["id"]] and "secret" not in listed[0]
            gone = await client.post(f"/admin/keys/{key['id']}/revoke", headers=auth)
            assert gone.json()["revoked"] is True
            missing = await client.post("/admin/keys/key_none/revoke", headers=auth)
            assert missing.status_code == 400
            assert [p["name"] for p in (await client.get("/admin/plans", headers=auth)).json()] == [
                "p1"
            ]
    finally:
        fa.app.api.settings.admin_token = None
    async with serving(fa.app) as client:  # no token configured: no admin endpoints
        unrouted = await client.get("/admin/keys", headers=auth)
        assert unrouted.status_code == 404 and unrouted.json()["type"].endswith("/not-found")
        assert unrouted.headers["content-type"] == "application/problem+json"
        wrong = await client.delete("/orders")
        assert wrong.status_code == 405 and wrong.json()["type"].endswith("/method-not-allowed")


def test_serve_refuses_a_public_address_without_an_admin_token(store_url: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store_url,
        "serve",
        "tests.http.frontdoor_app:app",
        "--host",
        "0.0.0.0",
        "--port",
        "1",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "admin token" in done.stderr
