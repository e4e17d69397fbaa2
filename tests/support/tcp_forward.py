"""A small asyncio TCP forwarder: the namespaced hosts' way to the loopback-only PostgreSQL.

PostgreSQL listens on 127.0.0.1 only, which a process in another network namespace cannot
reach. The test runs this forwarder in a thread of its own: it listens on the bridge's
gateway address and copies bytes both ways to the target on loopback. It is bounded: at
most ``max_connections`` at once (further ones are closed at once), and only to the one
target it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Self


class Forwarder:
    """Forward ``listen`` (host, port) to ``target`` (host, port) until :meth:`stop`."""

    def __init__(
        self, listen: tuple[str, int], target: tuple[str, int], max_connections: int = 256
    ) -> None:
        if not 1 <= max_connections <= 4096:
            raise ValueError(f"max_connections: {max_connections}, allowed 1-4096")
        self.listen, self.target = listen, target
        self.max_connections = max_connections
        self.accepted = 0
        self.refused = 0
        self.open = 0
        self.port = listen[1]
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tcp-forward", daemon=True)
        self._error: BaseException | None = None

    def start(self) -> Self:
        """Start listening; returns once the socket is bound (``port`` is the real one)."""
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(self._pipe, *self.listen)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            # Closing the listener leaves the piped connections: end them too, and let
            # them close their sockets before the loop goes.
            pipes = asyncio.all_tasks() - {asyncio.current_task()}
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            await asyncio.sleep(0)  # closed transports release their sockets

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open >= self.max_connections:
            self.refused += 1
            writer.close()
            return
        self.accepted += 1
        self.open += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self.open -= 1
            writer.close()
            return
        copies = [
            asyncio.ensure_future(_copy(reader, up_writer)),
            asyncio.ensure_future(_copy(up_reader, writer)),
        ]
        try:
            # Either direction ending (EOF or error) ends the connection: a half-open pipe
            # would leave its client waiting for an answer that can never come.
            await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for copy in copies:
                copy.cancel()
            await asyncio.gather(*copies, return_exceptions=True)
            self.open -= 1
            for w in (writer, up_writer):
                w.close()

    def stop(self) -> None:
        """Close the listener and every forwarded connection; wait for the thread."""
        if self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
