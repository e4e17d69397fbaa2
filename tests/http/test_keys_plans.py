"""API keys and usage plans over real HTTP (uvicorn on loopback, httpx), on both stores."""

from __future__ import annotations

import json

import pytest

from stormproof.errors import InvalidAttribute
from stormproof.gateway.keys import create_key, list_keys, update_key
from stormproof.gateway.plans import create_plan, list_plans
from stormproof.gateway.quotas import PREFIX as QUOTA_PREFIX
from tests.acceptance.test_cli_queues import ok, ok_json
from tests.http import frontdoor_app as fa
from tests.http.server import serving


async def test_keys_are_checked_scoped_and_revocable(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        store = fa.app.store
        anyroute, secret = await create_key(store, "ann", 1.0)
        _, scoped = await create_key(store, "bob", 2.0, routes=["/orders"])
        assert secret.startswith("sp_") and secret not in json.dumps(
            [r.value for r in await store.list_states("api-key:")]
        )  # stored as a hash only
        assert (await client.post("/keyed", json={})).status_code == 403
        bad = await client.post("/keyed", json={}, headers={"x-api-key": "sp_guess"})
        assert bad.status_code == 403 and bad.json()["type"].endswith("/forbidden")
        assert bad.headers["content-type"] == "application/problem+json"
        assert (
            await client.post("/keyed", json={}, headers={"x-api-key": secret})
        ).status_code == 202
        wrong = await client.post("/keyed", json={}, headers={"x-api-key": scoped})
        assert wrong.status_code == 403
        good = await client.post("/orders", json={"qty": 1}, headers={"x-api-key": scoped})
        assert good.status_code == 202
        await update_key(store, anyroute.id, revoked=True)
        with pytest.raises(InvalidAttribute):
            await update_key(store, "key_nope", revoked=True)
    # A new server has no cached key: the revocation is seen.
    async with serving(fa.app) as client:
        gone = await client.post("/keyed", json={}, headers={"x-api-key": secret})
        assert gone.status_code == 403


async def test_usage_plan_throttles_each_key_and_counts_its_quota(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        store = fa.app.store
        await create_plan(store, "tiny", rate=0.001, burst=2)
        await create_plan(store, "quota", quota=3, period="MONTH")
        _, a = await create_key(store, "a", 1.0, plan="tiny")
        _, b = await create_key(store, "b", 2.0, plan="tiny")
        quota_key, c = await create_key(store, "c", 3.0, plan="quota")
        for secret in (a, b):  # each key of the plan has its own bucket
            got = [
                (await client.post("/orders", json={"qty": 1}, headers={"x-api-key": secret}))
                for _ in range(3)
            ]
            assert [r.status_code for r in got] == [202, 202, 429]
            assert (
                got[2].json()["limit"] == "usage plan" and int(got[2].headers["retry-after"]) >= 1
            )
        codes = []
        for _ in range(4):
            r = await client.post("/orders", json={"qty": 1}, headers={"x-api-key": c})
            codes.append(r.status_code)
        assert codes == [202, 202, 202, 429]
        assert r.json()["type"].endswith("/quota-exceeded")
        assert r.json()["reset"] > fa.app.clock.now()
        assert int(r.headers["retry-after"]) >= 1
        count = await store.get_state(QUOTA_PREFIX + quota_key.id)
        assert count is not None and json.loads(count.value)["used"] == 3
        assert [p.name for p in await list_plans(store)] == ["quota", "tiny"]
        assert [k.name for k in await list_keys(store)] == ["a", "b", "c"]


def test_keys_and_plans_cli(store_url: str) -> None:
    plan = ok_json(
        store_url,
        "plans",
        "create",
        "gold",
        "--rate",
        "50",
        "--burst",
        "100",
        "--quota",
        "10000",
        "--period",
        "WEEK",
        "--offset",
        "1",
    )
    assert plan == {
        "name": "gold",
        "throttle": {"rate": 50.0, "burst": 100},
        "quota": {"limit": 10000, "period": "WEEK", "offset": 1},
    }
    key = ok_json(store_url, "keys", "create", "shop", "--route", "/orders")
    assert key["secret"].startswith("sp_") and key["routes"] == ["/orders"]
    listed = ok_json(store_url, "keys", "ls")
    assert [k["id"] for k in listed] == [key["id"]] and "secret" not in listed[0]
    assert ok_json(store_url, "plans", "attach", "gold", key["id"])["plan"] == "gold"
    assert ok_json(store_url, "keys", "revoke", key["id"])["revoked"] is True
    assert "gold" in ok(store_url, "plans", "ls")
    assert key["id"] in ok(store_url, "keys", "ls")
