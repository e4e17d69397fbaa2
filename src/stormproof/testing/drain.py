"""``drain(app)``: run every consumer of an open app until nothing is left to claim.

The test-time equivalent of a worker (Dramatiq's ``StubBroker`` with ``join``,
pytest-celery's worker): mappings, async invocations, state-machine steps and tasks and
bus deliveries run in rounds in the calling task, so a test sees their effects when
``await drain(app)`` returns. Work that is not visible yet (a delay, a Wait state, a retry
backoff) stays: with a :class:`~stormproof.testing.FakeClock`, advance it and drain again.
"""

from __future__ import annotations

from stormproof.app import App
from stormproof.worker import Worker

MAX_ROUNDS = 10_000


async def drain(app: App, *, max_rounds: int = MAX_ROUNDS) -> int:
    """Run rounds of every consumer until one claims nothing; the messages processed.

    The app must be open (``async with app:``); it stays open.
    """
    app.store  # noqa: B018 - raises a clear error when the app is not open
    worker = Worker(app, background=False)
    total = 0
    try:
        for _ in range(max_rounds):
            claimed = await worker.run_once()
            if not claimed:
                break
            total += claimed
    finally:
        await worker.shutdown()
    return total
