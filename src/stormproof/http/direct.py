"""Storage-first POST routes served straight on ASGI, beside Starlette's router.

A storage-first route does the same few things for every request: read the body, hand
it to :meth:`FrontDoor.accept`, send a small JSON answer. Going through Starlette for
that (its error and exception middleware, the router's match over every route, a
``Request``, a ``JSONResponse``) cost some 40-90 µs of CPU per request, and the front
door is CPU-bound on the event loop (docs/performance.md, the front-door benchmark).
:class:`FrontDoorApp` is a Starlette application that answers a POST to such a route's
literal path itself and hands everything else to Starlette as before.

Only routes without CORS and without path parameters take this path; the answers
(status, body, headers, problem+json errors) are the ones Starlette's endpoint gave.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from stormproof.engine import injection
from stormproof.errors import PayloadTooLarge
from stormproof.gateway.frontdoor import Answer, FrontDoor
from stormproof.gateway.routes import PostRoute
from stormproof.http.problems import from_exception

_JSON = (b"content-type", b"application/json")


def headers_of(scope: Scope) -> dict[str, str]:
    """The request's headers by (lowercase) name; the first of repeated ones wins, as
    Starlette's ``Headers.get`` answers."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}


def _declared_length(headers: Mapping[str, str], limit: int) -> None:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the body has {declared} bytes; at most {limit} are accepted",
            size=int(declared),
            limit=limit,
        )


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The body, refusing (413) as soon as it passes ``limit`` bytes; None when the
    client went away before sending all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body passes {limit} bytes", size=size, limit=limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _encoded(answer: Answer) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body as JSONResponse renders it, and the response headers."""
    text = answer.text
    if text is None:
        text = json.dumps(
            answer.body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        )
    body = text.encode("utf-8")
    headers = [(b"content-length", str(len(body)).encode("latin-1")), _JSON]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    return body, headers


class DirectPost:
    """The ASGI endpoint of one storage-first route."""

    def __init__(self, door: FrontDoor, route: PostRoute) -> None:
        self.door = door
        self.route = route
        self._fault = f"route:POST {route.path}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Accept one request and answer it (errors as problem+json, never a traceback)."""
        try:
            answer = await self._accept(scope, receive)
        except Exception as exc:  # every error becomes problem+json, never a traceback
            await from_exception(exc)(scope, receive, send)
            return
        if answer is None:
            return  # the client left: nobody to answer, nothing was stored
        body, headers = _encoded(answer)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _accept(self, scope: Scope, receive: Receive) -> Answer | None:
        if injection.injector is not None:  # a chaos fault answers for the route
            await injection.injector.strike(self._fault)
        headers = headers_of(scope)
        _declared_length(headers, self.route.max_body)
        raw = await read_body(receive, self.route.max_body)
        if raw is None:
            return None
        return await self.door.accept(self.route, raw, headers)


def direct_posts(door: FrontDoor, routes: Mapping[str, PostRoute]) -> dict[str, DirectPost]:
    """An endpoint per route that may skip Starlette: a literal path and no CORS."""
    return {
        path: DirectPost(door, route)
        for path, route in routes.items()
        if route.cors is None and "{" not in path
    }


class FrontDoorApp(Starlette):
    """Starlette, answering POSTs to the direct routes' paths before its middleware.

    Middleware added to this application does not see those requests.
    """

    direct: dict[str, DirectPost]

    def __init__(self, direct: dict[str, DirectPost], **options: Any) -> None:
        super().__init__(**options)
        self.direct = direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a direct route's POST here; anything else as Starlette does."""
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            post = self.direct.get(scope["path"])
            if post is not None:
                await post(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
