"""A mapping whose handler appends the bodies of each batch to a file (``SP_TEST_LOG``).

The kill test sends numbered messages and SIGKILLs workers running this app; the file
then tells which messages were processed, and how many times.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from stormproof import App

LOG = os.environ.get("SP_TEST_LOG", os.devnull)
PAUSE = float(os.environ.get("SP_TEST_PAUSE", "0.05"))
BATCH_SIZE = 10

app = App("kill-test")
work = app.queue("work", visibility_timeout=float(os.environ.get("SP_TEST_VT", "4")))


@app.function(timeout=1)
async def record(event: Any, context: Any) -> None:
    lines = "".join(r["body"] + "\n" for r in event["Records"])
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)
    # More work after the side effect: a kill here makes the batch run again (a duplicate).
    await asyncio.sleep(PAUSE)


app.consume(work, record, batch_size=BATCH_SIZE)
