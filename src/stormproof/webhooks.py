"""Standard Webhooks signatures (https://www.standardwebhooks.com/): sign and verify.

A delivery carries ``webhook-id``, ``webhook-timestamp`` (epoch seconds) and
``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"``, one per active secret (so secrets can rotate). Secrets are
``whsec_<base64 key>``. A receiver verifies with::

    from stormproof.webhooks import verify
    event = verify("whsec_...", request.headers, raw_body)   # raises when it is not ours

``verify`` rejects a timestamp more than ``tolerance`` (5 min) away from now (replays)
and compares signatures in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from stormproof.errors import InvalidAttribute, WebhookVerificationError

PREFIX = "whsec_"
TOLERANCE = 300.0


def new_secret() -> str:
    """A fresh ``whsec_`` secret (24 random bytes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret.startswith(PREFIX):
        raise InvalidAttribute("secret", "<hidden>", "a 'whsec_<base64>' string")
    try:
        return base64.b64decode(secret[len(PREFIX) :], validate=True)
    except ValueError:
        raise InvalidAttribute("secret", "<hidden>", "a 'whsec_<base64>' string") from None


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(
    secrets_: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of a delivery, signed with every active secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    sigs = " ".join(signature(s, msg_id, ts, body) for s in secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sigs}


def verify(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> Any:
    """The parsed body if one of its signatures matches one of ``secret``; else raises
    :class:`~stormproof.errors.WebhookVerificationError`."""
    lower = {k.lower(): v for k, v in headers.items()}
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    msg_id, stamp, sigs = (lower.get(h) for h in names)
    if not (msg_id and stamp and sigs):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    if abs((time.time() if now is None else now) - ts) > tolerance:
        raise WebhookVerificationError(f"timestamp outside the {tolerance:g} s tolerance")
    candidates = [secret] if isinstance(secret, str) else list(secret)
    expected = {signature(s, msg_id, ts, body) for s in candidates}
    offered = [s for s in sigs.split(" ") if s.startswith("v1,")]
    if not any(hmac.compare_digest(o, e) for o in offered for e in expected):
        raise WebhookVerificationError("no signature matches")
    return json.loads(body)
