"""The OpenAPI 3.1 document of an app's front door, generated from its declared routes.

Served at ``GET /openapi.json``. A storage-first POST documents its JSON Schema (if it has
one), its 202 and every problem it may answer; a synchronous GET its path parameters, 200
and 504; the request-status routes are described once.
"""

from __future__ import annotations

import re
from typing import Any

from stormproof.gateway.routes import Api, GetRoute, PostRoute

MEDIA = "application/problem+json"
PROBLEM_STATUSES = {
    "400": "Invalid body, header or idempotency key missing",
    "403": "API key missing, unknown, revoked or out of scope",
    "413": "Body too large",
    "422": "Idempotency key reused with another body",
    "429": "Throttled or quota exceeded (see Retry-After)",
}
COMPONENTS: dict[str, Any] = {
    "Accepted": {
        "type": "object",
        "required": ["request_id", "status_url"],
        "properties": {"request_id": {"type": "string"}, "status_url": {"type": "string"}},
    },
    "RequestStatus": {
        "type": "object",
        "required": ["request_id", "state", "created", "updated"],
        "properties": {
            "request_id": {"type": "string"},
            "state": {"enum": ["accepted", "running", "succeeded", "failed"]},
            "created": {"type": "number"},
            "updated": {"type": "number"},
            "result": {},
            "error": {},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
    },
}


def _ref(name: str, media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _problems(*statuses: str) -> dict[str, Any]:
    return {
        s: {"description": PROBLEM_STATUSES.get(s, "Problem"), **_ref("Problem", MEDIA)}
        for s in statuses
    }


def _params(path: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in re.findall(r"{([^}]+)}", path)
    ]


def _post(route: PostRoute) -> dict[str, Any]:
    body, required = _body(route)
    op: dict[str, Any] = {
        "summary": f"Store the body for the {route.kind} {route.target.name}; answer 202",
        "requestBody": {"required": required, "content": {"application/json": {"schema": body}}},
        "responses": {
            "202": {"description": "Stored", **_ref("Accepted")},
            **_problems(*PROBLEM_STATUSES),
        },
    }
    if route.idempotency is not None:
        op["parameters"] = [
            {
                "name": route.idempotency,
                "in": "header",
                "required": route.idempotency_required,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        ]
    return op


def _body(route: PostRoute) -> tuple[dict[str, Any], bool]:
    """The body's schema and whether a body is required.

    An empty body is the JSON ``null``: a route without a schema takes it (a queue stores
    ``null``, an execution starts with it), except a bus route, whose body is the event's
    ``detail`` and must be an object. A route's own schema decides for itself.
    """
    if route.schema is not None:
        return dict(route.schema), True
    if route.kind == "bus":
        return {"type": "object"}, True
    return {}, False


def _get(route: GetRoute) -> dict[str, Any]:
    return {
        "summary": f"Synchronous handler (integration timeout {route.timeout:g} s)",
        "parameters": _params(route.path),
        "responses": {
            "200": {"description": "The handler's answer", "content": {"application/json": {}}},
            "504": {"description": "Integration timeout", **_ref("Problem", MEDIA)},
            **_problems("403", "429"),
        },
    }


def document(api: Api, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``api``."""
    paths: dict[str, dict[str, Any]] = {}
    for path, post in api.posts.items():
        paths.setdefault(path, {})["post"] = _post(post)
    for path, get in api.gets.items():
        paths.setdefault(path, {})["get"] = _get(get)
    paths["/requests/{id}"] = {
        "get": {
            "summary": "A request's state",
            "parameters": _params("/requests/{id}"),
            "responses": {
                "200": {"description": "The record", **_ref("RequestStatus")},
                "404": {"description": "No such request", **_ref("Problem", MEDIA)},
            },
        }
    }
    paths["/requests/{id}/events"] = {
        "get": {
            "summary": "Server-Sent Events of a request's states",
            "parameters": _params("/r/{id}"),
            "responses": {
                "200": {"description": "SSE stream", "content": {"text/event-stream": {}}},
                "404": {"description": "No such request", **_ref("Problem", MEDIA)},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": COMPONENTS},
    }
