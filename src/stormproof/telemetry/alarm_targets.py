"""Where an alarm notification goes: any destination (queue, bus, function, state machine),
a webhook URL (an HTTP POST of the JSON body) or an e-mail through an SMTP server.

A notification that fails to reach a target is logged (``event=alarm.notify_failed``) and
not retried: the next state change or incident sends again, and the state is in the store
for ``stormproof alarms show``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from stormproof.core import alarm_notice
from stormproof.engine.destinations import RECORD_SOURCE, is_destination
from stormproof.engine.http_sender import HttpSender, require_httpx
from stormproof.errors import InvalidAttribute
from stormproof.storage.base import Store

log = logging.getLogger("stormproof.alarms")
DETAIL_TYPE = "Alarm Notification"
WEBHOOK_TIMEOUT = 5.0
SMTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmtpTarget:
    """An e-mail target: ``smtp_target(host, port, sender, to)``."""

    host: str
    port: int
    sender: str
    to: tuple[str, ...]

    @property
    def name(self) -> str:
        """How the target is named in logs and ``alarms show``."""
        return f"smtp://{self.host}:{self.port}/{','.join(self.to)}"


def smtp_target(host: str, port: int, sender: str, to: str | Sequence[str]) -> SmtpTarget:
    """An e-mail notification target: plain SMTP (no TLS, no login) to ``host:port``."""
    if not isinstance(host, str) or not host:
        raise InvalidAttribute("host", host, "a host name")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65_535:
        raise InvalidAttribute("port", port, "1-65535")
    if not isinstance(sender, str) or "@" not in sender:
        raise InvalidAttribute("sender", sender, "an e-mail address")
    rcpt = (to,) if isinstance(to, str) else tuple(to)
    if not rcpt or not all(isinstance(a, str) and "@" in a for a in rcpt):
        raise InvalidAttribute("to", to, "one or more e-mail addresses")
    return SmtpTarget(host, port, sender, rcpt)


def check_target(target: Any) -> Any:
    """``target`` if it is a destination, an http(s) URL or an SMTP target."""
    ok = (
        is_destination(target)
        or isinstance(target, SmtpTarget)
        or (isinstance(target, str) and target.startswith(("http://", "https://")))
    )
    if not ok:
        raise InvalidAttribute(
            "notify",
            target,
            "queues, buses, functions, state machines, http(s) URLs or smtp_target(...)",
        )
    if isinstance(target, str):  # a webhook: refused when declared, not when it fires
        require_httpx("notify")
    return target


def target_name(target: Any) -> str:
    """A target's name for logs."""
    if isinstance(target, str):
        return target
    return target.name if isinstance(target, SmtpTarget) else f"{target.kind}:{target.name}"


class Notifier:
    """Sends notification bodies to targets (one HTTP client kept for webhooks)."""

    def __init__(self) -> None:
        self._http: HttpSender | None = None

    async def send(self, store: Store, now: float, target: Any, body: dict[str, Any]) -> bool:
        """Deliver ``body`` to ``target``; False (logged) when it failed."""
        try:
            if isinstance(target, str):
                await self._post(target, body)
            elif isinstance(target, SmtpTarget):
                await asyncio.to_thread(_mail, target, body)
            else:
                ops = await target.delivery_ops(
                    body, now, source=RECORD_SOURCE, detail_type=DETAIL_TYPE
                )
                await store.apply(ops, atomic=True)
        except Exception as exc:
            name, error = target_name(target), type(exc).__name__
            log.warning(
                "event=alarm.notify_failed alarm=%s target=%s error=%s: %s",
                body.get("alarm"),
                name,
                error,
                exc,
            )
            return False
        return True

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        self._http = self._http or HttpSender()
        data = json.dumps(body, default=str).encode()
        status = await self._http.request(
            "POST", url, {"content-type": "application/json"}, data, WEBHOOK_TIMEOUT
        )
        if not 200 <= status < 300:
            raise RuntimeError(f"HTTP {status}")

    async def close(self) -> None:
        """Close the webhook connections."""
        if self._http is not None:
            await self._http.close()
            self._http = None


def _mail(target: SmtpTarget, body: dict[str, Any]) -> None:
    subject, text = alarm_notice.email_text(body)
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, target.sender, ", ".join(target.to)
    msg.set_content(text)
    with smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(msg)
