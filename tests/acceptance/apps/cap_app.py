"""A function with reserved concurrency 3 whose (sync) handler records when it ran.

Each execution appends ``start end pid`` (wall-clock seconds) to ``SP_TEST_LOG``; the test
counts overlapping executions across every worker process.
"""

from __future__ import annotations

import os
import time
from typing import Any

from stormproof import App

LOG = os.environ.get("SP_TEST_LOG", os.devnull)
PAUSE = float(os.environ.get("SP_TEST_PAUSE", "0.1"))
RESERVED = 3

app = App("cap-test")
jobs = app.queue("jobs", visibility_timeout=30)


@app.function(timeout=5, concurrency=RESERVED)
def work(event: Any, context: Any) -> None:
    start = time.time()
    time.sleep(PAUSE)
    end = time.time()
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{start:.6f} {end:.6f} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


app.consume(jobs, work, batch_size=1)
