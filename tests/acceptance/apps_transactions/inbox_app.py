"""A worker app for the SIGKILL test of a transactional mapping: one row per message.

The inbox table has no unique key on purpose: a batch committed twice would show as
duplicate rows.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from stormproof import App

app = App("tx-inbox")
app.sql_migrations(Path(__file__).parent / "inbox_migrations")
inbox = app.queue("inbox", visibility_timeout=2)


@app.transaction()
def store_rows(db: Any, event: Any) -> Any:
    """Insert one row per record (and dawdle, to widen the kill window)."""
    for record in event["Records"]:
        db.execute("INSERT INTO inbox VALUES (:b)", {"b": record["body"]})
    time.sleep(random.random() * (0.2 if db.dialect == "sqlite" else 0.05))
    return None


app.consume(inbox, store_rows, batch_size=5)
