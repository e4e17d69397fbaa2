"""Alarms at run time: declarations, built-in alarms, and the one evaluator per app.

``app.alarm(name, metric="dlq_depth:orders-dlq", threshold=0, for_=0, notify=[...])``
declares an alarm (the decisions are :mod:`stormproof.core.alarm`'s). Built in, unless
switched off with ``app.alarm_defaults(dlq=False, breakers=False)`` or
``app.disable_alarm(name)``: ``dlq:<queue>`` (depth > 0) for every dead-letter queue and
on-failure queue, ``breaker:<name>`` (open) for every global breaker.

Every process running work (a worker, an app opened with ``consume=True``) runs the alarm
loop every :data:`EVALUATE_EVERY` seconds: it merges its incidents and counts into the
store (:mod:`.alarm_collect`), then takes or renews the evaluator lease; the holder reads
each alarm's metric (cheap reads), steps its state, stores it, and on a change notifies the
alarm's targets and publishes ``Alarm State Change`` on the default bus. While an alarm is
in ALARM, new incidents on its object are sent too (``from`` and ``to`` both ALARM).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from stormproof.core import alarm as core
from stormproof.core import alarm_notice
from stormproof.engine import events
from stormproof.engine.periodic import Periodic
from stormproof.errors import InvalidAttribute, StoreError, StormproofError
from stormproof.storage.base import CompareAndSet
from stormproof.telemetry import alarm_store as db
from stormproof.telemetry.activity_collect import ActivityCollector
from stormproof.telemetry.alarm_collect import Collector
from stormproof.telemetry.alarm_sources import consumers_of, dead_letter_queues, global_breakers
from stormproof.telemetry.alarm_targets import Notifier, check_target

log = logging.getLogger("stormproof.alarms")
EVALUATE_EVERY = 1.0  # seconds between evaluations (the issue allows up to 2)
LEASE_TTL = 5.0  # an evaluator that dies is replaced after this long
# An alarm about incidents (a DLQ, a machine) firing with none merged yet waits this long
# for them: the process that dead-lettered merges its buffer within a second.
INCIDENT_GRACE = 2.0
SOURCE, DETAIL_TYPE = "stormproof", "Alarm State Change"


@dataclass(frozen=True)
class Alarm:
    """A declared (or built-in) alarm: its rule and the targets it notifies."""

    name: str
    rule: core.Rule
    notify: tuple[Any, ...] = ()
    builtin: bool = False

    @property
    def metric(self) -> str:
        """The metric selector, e.g. ``dlq_depth:orders-dlq``."""
        return str(self.rule.selector)


class Alarms:
    """An app's alarms (``app.alarms``); ``host`` is the app (duck-typed: telemetry sits
    below the features it reads the declarations of)."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.declared: dict[str, Alarm] = {}
        self.disabled: set[str] = set()
        self.dlq_defaults = self.breaker_defaults = True
        self.default_notify: tuple[Any, ...] = ()
        self.link_base = ""
        self.collector = Collector(host.name, lambda: consumers_of(host), lambda: self.link_base)
        self.notifier = Notifier()
        self.activity = ActivityCollector(host.name)  # the dashboard's recent activity
        self._loop: Periodic | None = None
        self._unsubscribe: Callable[[], None] = lambda: None

    def alarm(
        self,
        name: str,
        *,
        metric: str,
        threshold: float,
        for_: float = 0.0,
        window: float = 60.0,
        notify: Sequence[Any] = (),
    ) -> Alarm:
        """Declare an alarm: ALARM once ``metric`` > ``threshold`` for ``for_`` s (counters:
        their increase over ``window`` s); ``notify``: destinations, URLs, smtp_target()."""
        if not isinstance(name, str) or not name or "/" in name:
            raise InvalidAttribute("name", name, "a non-empty alarm name without '/'")
        targets = tuple(check_target(t) for t in notify)
        made = Alarm(name, core.rule(metric, threshold, for_, window), targets)
        self.declared[name] = made
        return made

    def defaults(
        self,
        *,
        dlq: bool | None = None,
        breakers: bool | None = None,
        notify: Sequence[Any] | None = None,
        link_base: str | None = None,
    ) -> None:
        """Switch the built-in alarms on or off, set their targets, and the dashboard URL
        prefixing the fetch links of large events (``http://host:port``)."""
        self.dlq_defaults = self.dlq_defaults if dlq is None else dlq
        self.breaker_defaults = self.breaker_defaults if breakers is None else breakers
        if notify is not None:
            self.default_notify = tuple(check_target(t) for t in notify)
        self.link_base = self.link_base if link_base is None else link_base.rstrip("/")

    def disable(self, name: str) -> None:
        """Switch off one alarm, built-in (``dlq:orders-dlq``) or declared."""
        self.disabled.add(name)

    def definitions(self) -> list[Alarm]:
        """Every alarm enabled now: the declared ones and the built-in ones."""
        found = dict(self.declared)
        if self.dlq_defaults:
            for q in dead_letter_queues(self.host):
                found.setdefault(f"dlq:{q}", self._builtin(f"dlq:{q}", f"dlq_depth:{q}"))
        if self.breaker_defaults:
            for b in global_breakers(self.host):
                found.setdefault(f"breaker:{b}", self._builtin(f"breaker:{b}", f"breaker_open:{b}"))
        return [a for name, a in sorted(found.items()) if name not in self.disabled]

    def _builtin(self, name: str, metric: str) -> Alarm:
        return Alarm(name, core.rule(metric, 0), self.default_notify, builtin=True)

    # --- the loop ---------------------------------------------------------------------

    def start(self) -> None:
        """Collect this process's events and run the alarm loop (idempotent)."""
        if self._loop is not None:
            return
        undo = (self.collector.subscribe(), self.activity.subscribe())

        def unsubscribe() -> None:
            for u in undo:
                u()

        self._unsubscribe = unsubscribe
        self._loop = Periodic("stormproof-alarms", self._tick, EVALUATE_EVERY, self.host.clock)
        self._loop.start()

    async def stop(self) -> None:
        """Stop the loop, merge what is buffered and give the lease up."""
        loop, self._loop = self._loop, None
        if loop is not None:
            await loop.stop()
            self._unsubscribe()
            try:
                await self.collector.flush(self.host.store, self.host.clock.now())
                await self.activity.flush(self.host.store, self.host.clock.now())
                await db.update(self.host.store, db.key(self.host.name, "lease"), self._release)
            except Exception as exc:  # closing: the next evaluator takes over after the TTL
                log.warning("event=alarm.stop_failed error=%s", exc)
        await self.notifier.close()  # (run_once may have notified without the loop)

    def _release(self, old: Any) -> Any:
        mine = old and old["holder"] == self.host.instance_id
        return {"holder": "", "until": 0} if mine else None

    async def _tick(self) -> None:
        try:
            await self.run_once()
        except Exception:
            log.exception("event=alarm.evaluation_failed app=%s", self.host.name)

    async def run_once(self) -> list[dict[str, Any]]:
        """Merge this process's buffer, then evaluate every alarm if this process holds the
        lease; returns the notifications sent."""
        store, now = self.host.store, self.host.clock.now()
        await self.collector.flush(store, now)
        await self.activity.flush(store, now)
        lease = db.take_lease(self.host.instance_id, now, LEASE_TTL)
        if await db.update(store, db.key(self.host.name, "lease"), lease) is None:
            return []
        alarms = self.definitions()
        kinds = {a.rule.selector.kind for a in alarms}
        snap = await db.snapshot(
            store, self.host.name, queues="queue" in kinds, breakers="breaker" in kinds
        )
        sent: list[dict[str, Any]] = []
        for a in alarms:
            try:
                body = await self._evaluate(a, snap, now)
            except StoreError:
                raise  # the store is down: the next tick tries every alarm again
            except Exception:  # one broken alarm (or target) must not silence the others
                log.exception("event=alarm.evaluation_failed alarm=%s", a.name)
                continue
            if body is not None:
                sent.append(body)
        return sent

    async def _evaluate(self, a: Alarm, snap: db.Snapshot, now: float) -> dict[str, Any] | None:
        store, app = self.host.store, self.host.name
        rec = snap.states.get(a.name)
        stored = json.loads(rec.value) if rec else None
        old = core.AlarmState.from_json(stored["alarm"]) if stored else core.AlarmState()
        seen = stored["seen"] if stored else 0
        value, samples = await self._value(a, old, snap, now)
        new = replace(core.evaluate(a.rule, old, value, now), samples=samples)
        fresh, top = await self._incidents(a, seen, new.state)
        if (
            core.changed(old, new)
            and new.state == core.ALARM
            and not fresh
            and a.rule.selector.kind in ("queue", "machine")
            and now - (new.breaching_since or now) < INCIDENT_GRACE
        ):
            new = replace(new, state=old.state, changed_at=old.changed_at, reason=old.reason)
        record = {"alarm": new.as_json(), "seen": top, "metric": a.metric}
        if record != stored:  # unchanged alarms cost no write
            op = CompareAndSet(
                db.key(app, "state", a.name), rec.version if rec else None, json.dumps(record)
            )
            await store.apply([op])  # only the lease holder writes these
        if not core.changed(old, new) and not fresh:
            return None
        body = alarm_notice.notification(app, a.name, a.metric, old.as_json(), new.as_json(), fresh)
        await self._announce(a, body, now)
        return body

    async def _value(
        self, a: Alarm, old: core.AlarmState, snap: db.Snapshot, now: float
    ) -> tuple[float, Any]:
        """The metric's value (a counter: its increase over the window) and the samples."""
        selector = a.rule.selector
        if not selector.counter:
            return await db.gauge(self.host.store, snap, selector), old.samples
        total, since = db.counter(snap, selector)
        samples = old.samples
        if not samples and since is not None and since >= now - a.rule.window:
            samples = ((since, 0.0),)  # counted from zero within the window: all of it is new
        return core.increase(samples, total, now, a.rule.window)

    async def _incidents(self, a: Alarm, seen: int, state: str) -> tuple[list[Any], int]:
        """The incidents on the alarm's object not delivered yet (only in ALARM: in OK they
        wait, so the notification that fires carries them; and are not even read)."""
        if state != core.ALARM:
            return [], seen
        about = f"{a.rule.selector.kind}:{a.rule.selector.subject}"
        _, value = await db.read(self.host.store, db.key(self.host.name, "incidents", about))
        if not value:
            return [], seen
        return [i for i in value["items"] if i["seq"] > seen], value["seq"]

    async def _announce(self, a: Alarm, body: dict[str, Any], now: float) -> None:
        store = self.host.store
        for target in a.notify:
            await self.notifier.send(store, now, target, body)
        if body["from"] != body["to"]:
            events.emit(
                "alarm.changed",
                self.host.name,
                alarm=a.name,
                state=body["to"],
                previous=body["from"],
                reason=body["reason"],
            )
            bus = getattr(self.host.buses, "buses", {}).get("default")
            if bus is not None and bus.declared:
                try:
                    ops = await bus.delivery_ops(body, now, source=SOURCE, detail_type=DETAIL_TYPE)
                    await store.apply(ops, atomic=True)
                except StormproofError as exc:  # e.g. a detail past the bus's size limit
                    log.warning("event=alarm.bus_failed alarm=%s error=%s", a.name, exc)
