"""A receiving process for the multi-process tests.

``python -m tests.acceptance.procs.receiver STORE QUEUE IDLE VT [--no-delete]``: receives
in batches of 10 until the queue stays empty for IDLE seconds, printing one JSON line per
message (message id, body, receive time); deletes each batch unless --no-delete.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from stormproof import App


async def main(url: str, name: str, idle: float, vt: float, delete: bool) -> None:
    app = App("receiver", url)
    async with app:
        q = await app.get_queue(name)
        print(json.dumps({"ready": True}), flush=True)
        last = time.monotonic()
        while time.monotonic() - last < idle:
            msgs = await q.receive(max_messages=10, visibility_timeout=vt, wait=0.2)
            stamp = time.time()
            for m in msgs:
                print(
                    json.dumps(
                        {"id": m.message_id, "body": m.body, "t": stamp, "count": m.receive_count}
                    ),
                    flush=True,
                )
            if msgs:
                last = time.monotonic()
                if delete:
                    res = await q.delete_batch(
                        [
                            {"id": str(i), "receipt_handle": m.receipt_handle}
                            for i, m in enumerate(msgs)
                        ]
                    )
                    assert not res.failed, res.failed


if __name__ == "__main__":
    url, queue, idle, vt = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    asyncio.run(main(url, queue, idle, vt, "--no-delete" not in sys.argv))
