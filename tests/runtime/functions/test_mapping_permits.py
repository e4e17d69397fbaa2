"""A mapping consumer gives back the worker permits it took when deciding how much to
claim fails (a corrupt run-time switch flag in the store), on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.functions import mapping_switch
from stormproof.functions.mapping_consumer import MappingConsumer
from stormproof.storage.base import CompareAndSet


async def test_a_failing_switch_read_gives_the_permits_back(store_url: str) -> None:
    app = App("c", store_url)
    q = app.queue("work")
    seen: list[Any] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(q, handle)
    async with app:
        worker = Worker(app, concurrency=4)
        await worker.start()
        try:
            (consumer,) = [c for c in worker.consumers if isinstance(c, MappingConsumer)]
            assert worker.permits is not None
            mapping_id = consumer.mapping.id
            flag = mapping_switch.key(app.name, mapping_id)
            await app.store.apply([CompareAndSet(flag, None, "{}")])  # no "enabled" field
            with pytest.raises(KeyError):
                await consumer.poll_once()
            assert worker.permits.free == 4  # none leaked: the consumer can claim again
            await mapping_switch.set_enabled(app.store, app.name, mapping_id, True)
            await q.send("m")
            assert await worker.run_once() == 1
            assert seen == ["m"]
        finally:
            await worker.shutdown()
