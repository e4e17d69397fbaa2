"""The bus HTTP targets' client (httpcore, from httpx) against real loopback servers:
keep-alive reuse, the whole-exchange timeout, refused connections, and the declaration
without httpx."""

from __future__ import annotations

import asyncio
import importlib.util
import time

import pytest

from stormproof import App
from stormproof.engine.http_sender import HttpFailure, HttpSender
from stormproof.errors import InvalidAttribute
from tests.runtime.bus_server import HttpServer


async def test_connections_are_kept_alive_and_reused() -> None:
    opened = 0
    server = await HttpServer(status=200).up()
    original = server._serve

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        await original(reader, writer)

    server._serve = counting  # type: ignore[method-assign]
    await server.down()
    await server.up()
    sender = HttpSender()
    try:
        for i in range(20):
            status = await sender.request("POST", f"{server.url}/hook", {"x-n": str(i)}, b"{}", 5)
            assert status == 200
    finally:
        await sender.close()
        await server.down()
    assert len(server.answered) == 20
    assert opened == 1  # one socket for 20 sequential deliveries


async def test_the_timeout_bounds_the_whole_exchange() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # reads nothing, never answers

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    sender = HttpSender()
    start = time.monotonic()
    try:
        with pytest.raises(HttpFailure, match=r"no answer within 0\.3 s"):
            await sender.request("POST", f"http://127.0.0.1:{port}/", {}, b"{}", 0.3)
    finally:
        await sender.close()
        for writer in writers:
            writer.close()
        listener.close()
        await listener.wait_closed()
    assert time.monotonic() - start < 2


async def test_a_refused_connection_is_a_failure_without_an_answer() -> None:
    server = await HttpServer().up()
    url = server.url
    await server.down()
    sender = HttpSender()
    try:
        with pytest.raises(HttpFailure, match="ConnectError"):
            await sender.request("POST", url, {}, b"{}", 2)
    finally:
        await sender.close()


def test_an_http_target_without_httpx_is_refused_at_declaration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "httpcore" else real(name, *a)
    )
    app = App("nohttpx", "sqlite:///:memory:")
    with pytest.raises(InvalidAttribute) as info:
        app.http_target("http://127.0.0.1:9/hook")
    assert info.value.field == "http_target"
    assert "stormproof[server]" in str(info.value)
