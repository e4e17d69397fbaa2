"""A stream mapping whose handler appends ``shard seq`` lines of each batch to a file.

The stream kill test SIGKILLs workers running this app; the file then tells which records
were processed, how often, and in which order per shard.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from stormproof import App

LOG = os.environ.get("SP_TEST_LOG", os.devnull)
PAUSE = float(os.environ.get("SP_TEST_PAUSE", "0.05"))
BATCH_SIZE = 10

app = App("stream-kill-test")
stream = app.stream("s", shards=2)


@app.function(timeout=5)
async def record(event: Any, context: Any) -> None:
    lines = "".join(r["eventID"].replace(":", " ") + "\n" for r in event["Records"])
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)
    await asyncio.sleep(PAUSE)  # a kill here re-runs the batch from the checkpoint


app.consume(stream, record, batch_size=BATCH_SIZE, shard_lease=2)
