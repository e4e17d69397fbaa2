"""Where the example's outside world lives: the payment API, the webhook receiver, the secret.

Each comes from the environment, read when used (the demo picks free ports and sets them
after the package is imported), so the demo, the multi-host run and a developer's shell
can point the same app at their own processes.
"""

from __future__ import annotations

import os


def payment_url() -> str:
    """``BOOKING_PAYMENT_URL``, default ``http://127.0.0.1:8790``."""
    return os.environ.get("BOOKING_PAYMENT_URL", "http://127.0.0.1:8790")


def receiver_url() -> str:
    """``BOOKING_RECEIVER_URL``, default ``http://127.0.0.1:8791``."""
    return os.environ.get("BOOKING_RECEIVER_URL", "http://127.0.0.1:8791")


def webhook_secret() -> str:
    """Both signatures (the front door's Standard Webhooks and the bus target's HMAC)."""
    return os.environ.get(
        "BOOKING_WEBHOOK_SECRET", "whsec_Ym9va2luZy1kZW1vLXNlY3JldC0xMjM0NTY3OA=="
    )
