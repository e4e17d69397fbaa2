"""Publishing: turning matched events into one unit of work.

For every event: one archive row per archive whose pattern matches (never for replays),
and per matched rule and target one *delivery*:

* a queue target gets its message enqueued directly, in the same transaction;
* a function target gets its async invocation enqueued on the function's internal queue;
* every other target (HTTP, another bus, a state machine) gets a delivery message on the
  bus's delivery queue ``_bus-<bus>``, which :mod:`stormproof.bus.delivery` works off with
  retries;
* a target whose message cannot be built (its queue is gone, the payload is too large)
  is dead-lettered at once, without retries (AWS: "target resource no longer exists").

Everything goes into one list of operations that the caller applies atomically, so an
event is either published completely or not at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stormproof.bus.events import parse_time
from stormproof.bus.rules import Archive, Rule
from stormproof.bus.targets import Target
from stormproof.core import names
from stormproof.core import queue_rules as rules
from stormproof.core.retry import DeliveryFailure, ExhaustedCondition, dlq_attributes
from stormproof.errors import StormproofError
from stormproof.functions.function import INTERNAL_QUEUE_PREFIX
from stormproof.functions.jobs import Job
from stormproof.storage.base import Enqueue, Operation
from stormproof.storage.bus_ops import ArchivedEvent, ArchiveEvents

if TYPE_CHECKING:
    from stormproof.engine import events
from stormproof.engine import events
from stormproof.engine.runtime import Runtime

log = logging.getLogger("stormproof.bus")

DELIVERY_PREFIX = names.BUS_QUEUE_PREFIX


def delivery_queue(bus: str) -> str:
    """The internal queue holding a bus's deliveries and schedule ticks."""
    return DELIVERY_PREFIX + bus


def compact(value: Any) -> str:
    """Compact JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class DeadLetter:
    """What a target's DLQ message says about one failed delivery."""

    rule_arn: str
    target_arn: str
    dead_letter: str | None
    condition: str
    error_code: str
    error_message: str
    retry_attempts: int


def dead_letter_op(app: Runtime, letter: DeadLetter, event: Mapping[str, Any]) -> Enqueue | None:
    """The operation putting ``event`` on the target's DLQ, or None (no DLQ, or unusable)."""
    if letter.dead_letter is None:
        log.warning(
            "event=delivery.dropped rule=%s target=%s error_code=%s condition=%s",
            letter.rule_arn,
            letter.target_arn,
            letter.error_code,
            letter.condition,
        )
        return None
    attributes = dlq_attributes(
        rule_arn=letter.rule_arn,
        target_arn=letter.target_arn,
        error_code=letter.error_code,
        error_message=letter.error_message[:1024],
        exhausted_condition=letter.condition,
        retry_attempts=letter.retry_attempts,
    )
    try:
        attrs = app.attributes_of(letter.dead_letter)
        msg = rules.prepare_message(attrs, compact(event), None, attributes)
    except StormproofError as exc:
        # AWS counts these as InvocationsFailedToBeSentToDLQ: the event cannot be kept.
        log.error("event=delivery.dlq_failed dlq=%s error=%s", letter.dead_letter, exc)
        return None
    _announce(app, letter, event)
    return Enqueue(letter.dead_letter, [msg], attrs.dedup_window, attrs.fifo)


def _announce(app: Runtime, letter: DeadLetter, event: Mapping[str, Any]) -> None:
    """Log and emit that ``event`` goes to the target's dead-letter queue."""
    log.info(
        "event=delivery.dead_lettered rule=%s target=%s dlq=%s error_code=%s condition=%s",
        letter.rule_arn,
        letter.target_arn,
        letter.dead_letter,
        letter.error_code,
        letter.condition,
    )
    events.emit(
        "delivery.dead_lettered",
        app.name,
        rule=letter.rule_arn,
        target=letter.target_arn,
        dlq=letter.dead_letter,
        attempt=letter.retry_attempts + 1,
        event=event,
        error_type=letter.error_code,
        error_message=letter.error_message,
        condition=letter.condition,
    )


@dataclass
class Plan:
    """The operations publishing a set of events (see the module docstring)."""

    app: Runtime
    bus: str
    now: float
    messages: dict[str, list[rules.OutgoingMessage]] = field(default_factory=dict)
    archived: list[ArchivedEvent] = field(default_factory=list)
    extra: list[Operation] = field(default_factory=list)
    deliveries: int = 0

    def add(
        self,
        envelope: dict[str, Any],
        matched: Iterable[Rule],
        archives: Iterable[Archive] = (),
    ) -> None:
        """Plan one event: its archive rows and one delivery per target of each rule."""
        text = compact(envelope)
        for archive in archives:
            if archive.pattern is None or archive.pattern.matches(envelope):
                row = ArchivedEvent(
                    archive.name, envelope["id"], parse_time(envelope["time"]), text
                )
                self.archived.append(row)
        for rule in matched:
            for target in rule.targets:
                self._target(rule, target, envelope, text)

    def _target(self, rule: Rule, target: Target, event: dict[str, Any], text: str) -> None:
        ingestion = datetime.fromtimestamp(self.now, UTC)
        payload = target.render(
            event, rule_arn=rule.arn, rule_name=rule.name, ingestion_time=ingestion
        )
        if payload is None:
            log.info("event=delivery.not_rendered rule=%s target=%s", rule.arn, target.id)
            return
        try:
            queue, body = self._message(rule, target, event, payload, text)
            msg = rules.prepare_message(self.app.attributes_of(queue), body)
        except StormproofError as exc:
            failure = DeliveryFailure.missing_destination(f"{type(exc).__name__}: {exc}")
            letter = DeadLetter(
                rule.arn,
                target.arn,
                target.dead_letter,
                ExhaustedCondition.NOT_RETRIABLE,
                failure.error_code,
                failure.error_message,
                0,
            )
            op = dead_letter_op(self.app, letter, event)
            if op is not None:
                self.extra.append(op)
            return
        self.messages.setdefault(queue, []).append(msg)
        self.deliveries += 1

    def _message(
        self, rule: Rule, target: Target, event: dict[str, Any], payload: str, text: str
    ) -> tuple[str, str]:
        if target.kind == "queue":
            return target.name, payload
        if target.kind == "function":
            return INTERNAL_QUEUE_PREFIX + target.name, Job.new(
                payload_value(payload), self.now
            ).body()
        body = {
            "k": "deliver",
            "rule": rule.name,
            "rule_arn": rule.arn,
            "target": target.id,
            "target_arn": target.arn,
            "kind": target.kind,
            "dest": target.name,
            "dlq": target.dead_letter,
            "max_retry_attempts": target.policy.max_retry_attempts,
            "max_event_age": target.policy.max_event_age,
            "first_at": self.now,
            "event_id": event["id"],
            # The event itself rides along for the DLQ; the payload only when it differs.
            "payload": None if payload == text else payload,
            "event": event,
        }
        return delivery_queue(self.bus), compact(body)

    def ops(self) -> list[Operation]:
        """The unit of work: archive rows, one Enqueue per destination queue, DLQ sends."""
        out: list[Operation] = []
        if self.archived:
            out.append(ArchiveEvents(list(self.archived)))
        for queue, msgs in self.messages.items():
            attrs = self.app.attributes_of(queue)
            out.append(Enqueue(queue, msgs, attrs.dedup_window, attrs.fifo))
        return out + self.extra


def payload_value(payload: str) -> Any:
    """A function receives the payload as JSON when it is JSON (string templates may not be)."""
    try:
        return json.loads(payload)
    except ValueError:
        return payload
