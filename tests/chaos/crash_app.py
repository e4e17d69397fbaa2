"""A worker app for the crash test: ``jobs`` consumed by ``work``, which appends each
body to ``SP_TEST_LOG`` (run by ``stormproof worker`` with ``STORMPROOF_CHAOS=1``)."""

from __future__ import annotations

import json
import os
from typing import Any

from stormproof import App

app = App("crashy")
jobs = app.queue("jobs", visibility_timeout=1)


@app.function(timeout=1)
async def work(event: Any, context: Any) -> None:
    """Log each job's body."""
    with open(os.environ["SP_TEST_LOG"], "a") as f:
        for record in event["Records"]:
            f.write(json.loads(record["body"])["n"].__str__() + "\n")


app.consume(jobs, work, batch_size=1)
