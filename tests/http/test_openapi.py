"""``GET /openapi.json`` describes the declared routes, and live answers fit it."""

from __future__ import annotations

import fastjsonschema

from stormproof.gateway.openapi import COMPONENTS
from tests.http import frontdoor_app as fa
from tests.http.server import serving


async def test_openapi_document_matches_routes_and_answers(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"] == "3.1.0" and spec["info"]["title"] == "frontdoor"
        declared = set(fa.app.api.posts) | set(fa.app.api.gets)
        assert declared | {"/requests/{id}", "/requests/{id}/events"} == set(spec["paths"])
        orders = spec["paths"]["/orders"]["post"]
        assert orders["requestBody"]["content"]["application/json"]["schema"] == fa.ORDER_SCHEMA
        [header] = orders["parameters"]
        assert (header["name"], header["in"], header["required"]) == (
            "Idempotency-Key",
            "header",
            False,
        )
        assert header["schema"]["maxLength"] == 255
        assert {"202", "400", "403", "413", "422", "429"} <= set(orders["responses"])
        hello = spec["paths"]["/hello/{name}"]["get"]
        assert hello["parameters"][0]["name"] == "name" and "504" in hello["responses"]
        check = {name: fastjsonschema.compile(s) for name, s in COMPONENTS.items()}
        accepted = await client.post("/orders", json={"qty": 2})
        check["Accepted"](accepted.json())
        check["RequestStatus"]((await client.get(accepted.json()["status_url"])).json())
        check["Problem"]((await client.post("/orders", json={"qty": 0})).json())
        check["Problem"]((await client.get("/requests/req_nope")).json())
