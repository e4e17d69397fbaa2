"""The operations that store a request's work on its target, with the request id in it.

The id travels with the work: a message attribute (queues), the Lambda request id
(functions), the execution's name (state machines: ``$$.Execution.Name``), and a
``resources`` entry ``stormproof:request:<id>`` (bus events). The request record is
inserted before these operations in the unit, so they may update it (bus routes do).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stormproof.bus import Bus
from stormproof.bus.events import EntryError, build_envelope
from stormproof.core import queue_rules as rules
from stormproof.errors import MessageTooLarge, PayloadInvalid
from stormproof.functions import Function
from stormproof.functions.jobs import Job, enqueue_job_op
from stormproof.gateway.routes import PostRoute
from stormproof.queues import Queue
from stormproof.storage.base import Enqueue, Operation
from stormproof.storage.message_ids import MESSAGE_IDS
from stormproof.storage.request_ops import ATTRIBUTE, UpdateRequest

if TYPE_CHECKING:
    from stormproof.gateway.host import GatewayHost


async def work_ops(
    app: GatewayHost, route: PostRoute, request_id: str, payload: Any
) -> tuple[dict[str, Any], list[Operation]]:
    """``(target, ops)``: where the work goes (kept on the record) and how to store it."""
    target = route.target
    now = app.clock.now()
    if isinstance(target, Queue):
        attrs = target.attributes
        msg = _message(attrs, json.dumps(payload, separators=(",", ":")), request_id)
        op = Enqueue(target.name, [msg], attrs.dedup_window, attrs.fifo, ids=(MESSAGE_IDS.take(),))
        return {"kind": "queue", "name": target.name}, [op]
    if isinstance(target, Function):
        job = Job.new(payload, now, request_id=request_id)
        return {"kind": "function", "name": target.name}, [
            enqueue_job_op(app, target.queue_name, job)
        ]
    if isinstance(target, Bus):
        return await _bus_ops(app, route, target, request_id, payload, now)
    _, _, _, arn, ops = await app.executions.start_ops(target.name, payload, request_id)
    return {"kind": "machine", "name": target.name, "execution_arn": arn}, ops


_ATTRIBUTE_SIZE = len(ATTRIBUTE) + len("String") + 36  # name, type, a request id's text


def _message(attrs: rules.QueueAttributes, text: str, request_id: str) -> rules.OutgoingMessage:
    """``prepare_message`` of a queue route's message (the request id its one attribute).

    On a standard queue the same checks and the same message, with the attribute's JSON
    written directly: a request id is ``req_`` and hex digits, and validating and
    encoding it generically per request was a few per cent of the route's CPU.
    """
    if attrs.fifo or not text or len(request_id) != 36:
        group = request_id if attrs.fifo else None
        return rules.prepare_message(attrs, text, None, {ATTRIBUTE: request_id}, group, group)
    rules.check_body_chars(text)
    size = len(text.encode("utf-8")) + _ATTRIBUTE_SIZE
    if size > attrs.max_message_size:
        raise MessageTooLarge(size, attrs.max_message_size)
    attribute = f'{{"{ATTRIBUTE}":["String","{request_id}"]}}'
    return rules.OutgoingMessage(text, attribute, float(attrs.delay), None, None, size)


def target_json(target: dict[str, Any]) -> str:
    """The target's JSON as the request record stores it; cached for the constant
    targets (a queue or a function route's), computed for the others."""
    if len(target) == 2:
        key = (target["kind"], target["name"])
        found = _TARGETS.get(key)
        if found is None:
            found = _TARGETS[key] = json.dumps(target, separators=(",", ":"), default=str)
        return found
    return json.dumps(target, separators=(",", ":"), default=str)


_TARGETS: dict[tuple[str, str], str] = {}


async def _bus_ops(
    app: GatewayHost, route: PostRoute, bus: Bus, request_id: str, payload: Any, now: float
) -> tuple[dict[str, Any], list[Operation]]:
    await bus.manager.ready(bus)
    entry = {
        "source": route.source,
        "detail_type": route.detail_type,
        "detail": payload,
        "resources": [f"stormproof:request:{request_id}"],
    }
    try:
        envelope = build_envelope(entry, now)
    except EntryError as exc:
        raise PayloadInvalid(exc.message, errors=[{"field": "", "message": exc.message}]) from None
    target = {"kind": "bus", "name": bus.name, "event_id": envelope["id"]}
    # Publishing routes the event into every matching rule's delivery queue in this very
    # unit, so the request is final once stored: succeeded, naming the rules it matched.
    routed = {"event_id": envelope["id"], "rules": [r.name for r in bus.matching(envelope)]}
    done = UpdateRequest(request_id, "succeeded", now, result=routed)
    return target, [*bus.publish_ops([envelope], now), done]
