"""Storage-first POSTs served straight on ASGI (stormproof.http.direct): the edges the
Starlette endpoint handled for it (streamed bodies, repeated headers, a client that
leaves, other methods on the path)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.types import Message

from stormproof.errors import PayloadTooLarge
from stormproof.http.direct import headers_of, read_body
from tests.http import frontdoor_app as fa
from tests.http.server import serving


def _receive(*messages: Message):  # type: ignore[no-untyped-def]
    queued = list(messages)

    async def receive() -> Message:
        return queued.pop(0)

    return receive


async def test_a_body_in_chunks_is_joined_and_refused_past_the_limit() -> None:
    chunks = [{"type": "http.request", "body": b"ab", "more_body": True}]
    last = {"type": "http.request", "body": b"cd", "more_body": False}
    assert await read_body(_receive(*chunks, last), 4) == b"abcd"
    try:
        await read_body(_receive(*chunks, last), 3)
    except PayloadTooLarge as exc:
        assert exc.fields["limit"] == 3
    else:
        raise AssertionError("a body past the limit was read")


async def test_a_client_that_leaves_mid_body_gets_no_answer() -> None:
    chunk = {"type": "http.request", "body": b"ab", "more_body": True}
    assert await read_body(_receive(chunk, {"type": "http.disconnect"}), 10) is None


def test_headers_by_name_first_repeated_wins() -> None:
    scope = {"headers": [(b"x-api-key", b"one"), (b"x-api-key", b"two"), (b"a", b"\xe9")]}
    assert headers_of(scope) == {"x-api-key": "one", "a": "é"}


async def _streamed(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 1024):
        yield b" " * 1024


async def test_over_http_a_streamed_body_past_the_limit_is_413_and_get_is_405(
    store_url: str,
) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        r = await client.post("/orders", content=_streamed(300 * 1024))
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert (await client.get("/orders")).status_code == 405
        ok = await client.post("/orders", content=b'{"qty": 1}')
        assert ok.status_code == 202 and ok.headers["content-type"] == "application/json"
        assert int(ok.headers["content-length"]) == len(ok.content)
