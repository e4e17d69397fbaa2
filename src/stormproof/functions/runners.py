"""One handler call under a timeout: on the event loop, on a thread, or in a killable process.

:func:`run_call` starts a call through a runner and waits for it up to the function's
timeout on the app's clock (a fake clock in tests). It answers a :class:`Call`: the
:data:`Outcome` and ``finished``, a future done when the handler has *really* stopped.

* ``async def`` handlers run as tasks on the loop; a timeout cancels them.
* plain ``def`` handlers run on a thread pool of the function's own (``isolation="thread"``);
  a thread cannot be stopped, so a timed-out call keeps running and ``finished`` completes
  only when it returns (the caller keeps its concurrency slot until then).
* ``isolation="process"`` runs a sync handler in a child process from a pool of the
  function's own; a timeout kills the child (SIGKILL) and a fresh one replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from stormproof.clock import Clock, SystemClock
from stormproof.errors import InvalidAttribute, InvalidHandler

TIMEOUT_ERROR = "Sandbox.Timedout"
Handler = Callable[[Any, "Context"], Any]


class Context:
    """What a handler gets besides its event (Lambda's context object, in snake case)."""

    __slots__ = (
        "_clock",
        "_logger",
        "attempt",
        "deadline",
        "function_name",
        "request_id",
        "requests",
    )

    def __init__(
        self, request_id: str, attempt: int, function_name: str, deadline: float, clock: Clock
    ) -> None:
        self.request_id = request_id
        self.attempt = attempt
        self.function_name = function_name
        self.deadline = deadline
        self._clock = clock
        self._logger: logging.LoggerAdapter[logging.Logger] | None = None
        # Front-door request ids of the batch -> the result a handler reported for them.
        self.requests: dict[str, Any] = {}

    def complete_request(self, result: Any, request_id: str | None = None) -> None:
        """Report the outcome of a front-door request this batch carries (the only one,
        unless ``request_id`` names it); recorded when its message is deleted."""
        if request_id is None and len(self.requests) == 1:
            request_id = next(iter(self.requests))
        if request_id not in self.requests:
            raise InvalidAttribute("request_id", request_id, f"one of {sorted(self.requests)}")
        self.requests[request_id] = result

    @property
    def aws_request_id(self) -> str:
        """Lambda's name for :attr:`request_id`."""
        return self.request_id

    def remaining_time(self) -> float:
        """Seconds left before the invocation times out."""
        return max(0.0, self.deadline - self._clock.now())

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's name for :meth:`remaining_time`, in milliseconds."""
        return int(self.remaining_time() * 1000)

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger for the handler (``stormproof.function.<name>``) tagged with the request id."""
        if self._logger is None:
            base = logging.getLogger(f"stormproof.function.{self.function_name}")
            self._logger = logging.LoggerAdapter(base, {"request_id": self.request_id})
        return self._logger


@dataclass(frozen=True)
class Succeeded:
    """The handler returned ``result``."""

    result: Any


@dataclass(frozen=True)
class Failed:
    """The handler raised (``error_type`` is the exception's class name) or timed out."""

    error_type: str
    error_message: str
    timed_out: bool = False


Outcome = Succeeded | Failed


@dataclass(frozen=True)
class Call:
    """A finished call: its outcome, and a future done once the handler really stopped."""

    outcome: Outcome
    finished: asyncio.Future[Any]


class Runner(Protocol):
    """Starts calls of one handler and stops them when they overrun."""

    def start(self, event: Any, context: Context) -> asyncio.Future[Any]:
        """Start a call; the future resolves to the handler's result or its exception."""
        ...

    def abort(self, future: asyncio.Future[Any]) -> None:
        """Stop a call that overran (as far as the isolation allows)."""
        ...

    def close(self) -> None:
        """Release threads and processes."""
        ...


class RemoteFailure(Exception):
    """A handler raised in a child process; carries its error type and message."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


async def run_call(
    runner: Runner,
    event: Any,
    context: Context,
    timeout: float,
    clock: Clock,
    hold: Callable[[asyncio.Future[Any]], None] | None = None,
) -> Call:
    """Run one call under ``timeout`` seconds of ``clock``; see the module docstring.

    ``hold`` is given the call's future as soon as it starts (to keep a concurrency slot
    until the handler really stops, even if this coroutine is cancelled).
    """
    future = runner.start(event, context)
    future.add_done_callback(_consume_exception)
    if hold is not None:
        hold(future)
    try:
        finished_in_time = await _within(future, timeout, clock)
    except asyncio.CancelledError:
        runner.abort(future)
        raise
    if not finished_in_time:
        runner.abort(future)
        message = f"Task timed out after {timeout:.2f} seconds"
        return Call(Failed(TIMEOUT_ERROR, message, timed_out=True), future)
    return Call(_outcome(future), future)


def _outcome(future: asyncio.Future[Any]) -> Outcome:
    if future.cancelled():
        return Failed("Cancelled", "the invocation was cancelled")
    exc = future.exception()
    if exc is None:
        return Succeeded(future.result())
    if isinstance(exc, RemoteFailure):
        return Failed(exc.error_type, exc.message)
    return Failed(type(exc).__name__, str(exc))


def _consume_exception(future: asyncio.Future[Any]) -> None:
    # A timed-out call may fail later; nobody awaits it, so mark its exception as seen.
    if not future.cancelled():
        future.exception()


async def _within(future: asyncio.Future[Any], timeout: float, clock: Clock) -> bool:
    """Wait for ``future`` up to ``timeout`` seconds of ``clock``; True if it finished."""
    if isinstance(clock, SystemClock):
        done, _ = await asyncio.wait({future}, timeout=timeout)
        return bool(done)
    sleeper = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({future, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
    return future.done()


class AsyncRunner:
    """``async def`` handlers: a task per call; a timeout cancels it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def start(self, event: Any, context: Context) -> asyncio.Future[Any]:
        """Start the handler's coroutine as a task."""
        return asyncio.get_running_loop().create_task(self.handler(event, context))

    def abort(self, future: asyncio.Future[Any]) -> None:
        """Cancel the task."""
        future.cancel()

    def close(self) -> None:
        """Nothing to release."""


class ThreadRunner:
    """Plain ``def`` handlers on a thread pool of their own, sized to the concurrency."""

    def __init__(self, handler: Handler, size: int, name: str) -> None:
        self.handler = handler
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"fn-{name}")

    def start(self, event: Any, context: Context) -> asyncio.Future[Any]:
        """Submit the call to the pool."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self.executor, functools.partial(self.handler, event, context))

    def abort(self, future: asyncio.Future[Any]) -> None:
        """A running thread cannot be stopped: the future completes when it returns."""

    def close(self) -> None:
        """Stop taking calls; running threads finish on their own."""
        self.executor.shutdown(wait=False, cancel_futures=True)


def is_async(handler: Any) -> bool:
    """Whether calling ``handler`` returns a coroutine (an ``async def`` or such a __call__)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - a callable object's method
    )


def runner_for(handler: Handler, isolation: str, size: int, name: str) -> Runner:
    """The runner a function's handler and isolation call for."""
    if isolation == "process":
        return ProcessRunner(handler, size, name)
    if is_async(handler):
        return AsyncRunner(handler)
    return ThreadRunner(handler, size, name)


# --- process isolation ------------------------------------------------------------


@dataclass
class _Child:
    process: Any  # multiprocessing.context.SpawnProcess
    conn: Connection


class _Slot:
    """Links a running call to its child so a timeout can kill it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.child: _Child | None = None
        self.aborted = False


class ProcessRunner:
    """Sync handlers in child processes (spawned on demand, reused, killed on timeout).

    The child imports the handler by module and qualified name, so the handler must be a
    module-level function (decorated with ``@app.function`` or not).
    """

    def __init__(self, handler: Handler, size: int, name: str) -> None:
        if is_async(handler):
            raise InvalidHandler("isolation", "process", "plain def handlers, not async def")
        self.target = (handler.__module__, handler.__qualname__)
        self.function_name = name
        self._mp = multiprocessing.get_context("spawn")
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"proc-{name}")
        self._slots: dict[int, _Slot] = {}

    def start(self, event: Any, context: Context) -> asyncio.Future[Any]:
        """Send the call to an idle child (spawning one if needed) from a pool thread."""
        slot = _Slot()
        payload = (event, context.request_id, context.attempt, context.remaining_time())
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads, self._call, payload, slot)
        self._slots[id(future)] = slot
        future.add_done_callback(lambda f: self._slots.pop(id(f), None))
        return future

    def abort(self, future: asyncio.Future[Any]) -> None:
        """Kill the child running the call."""
        slot = self._slots.get(id(future))
        if slot is None:
            return
        with slot.lock:
            slot.aborted = True
            if slot.child is not None:
                slot.child.process.kill()

    def _call(self, payload: tuple[Any, ...], slot: _Slot) -> Any:
        child = self._checkout()
        with slot.lock:
            slot.child = child
            if slot.aborted:
                child.process.kill()
        try:
            child.conn.send(payload)
            reply = child.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._discard(child)
            raise RemoteFailure(TIMEOUT_ERROR, "the handler's process was killed") from None
        with self._lock:
            self._idle.append(child)
        if reply[0] == "ok":
            return reply[1]
        raise RemoteFailure(reply[1], reply[2])

    def _checkout(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    return child
        parent, theirs = self._mp.Pipe()
        process = self._mp.Process(
            target=child_main,
            args=(theirs, *self.target, self.function_name),
            name=f"stormproof-fn-{self.function_name}",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Child(process, parent)

    def _discard(self, child: _Child) -> None:
        with contextlib.suppress(Exception):
            child.process.kill()
        child.process.join(5)
        child.conn.close()

    def close(self) -> None:
        """Stop every idle child; running ones are killed."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        for slot in list(self._slots.values()):
            with slot.lock:
                slot.aborted = True
                if slot.child is not None:
                    slot.child.process.kill()
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            with contextlib.suppress(Exception):
                child.conn.send(None)
            child.process.join(2)
            self._discard(child)


def _resolve(module: str, qualname: str) -> Handler:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    inner = getattr(obj, "handler", None)
    return inner if getattr(obj, "is_stormproof_function", False) and inner else obj  # type: ignore[no-any-return]


def child_main(conn: Connection, module: str, qualname: str, function_name: str) -> None:
    """A child process's loop: receive a call, run the handler, send the answer back."""
    handler = _resolve(module, qualname)
    clock = SystemClock()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        event, request_id, attempt, remaining = message
        context = Context(request_id, attempt, function_name, clock.now() + remaining, clock)
        try:
            reply: tuple[Any, ...] = ("ok", handler(event, context))
            conn.send(reply)
        except BaseException as exc:  # report everything; the parent decides
            conn.send(("error", type(exc).__name__, str(exc)))
