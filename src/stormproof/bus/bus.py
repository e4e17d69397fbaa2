"""Event buses with EventBridge semantics: rules, targets, archives, publishing.

>>> bus = app.bus("default")
>>> bus.rule("big-orders", pattern={"detail": {"total": [{"numeric": [">", 100]}]}},
...          targets=[Target(orders), Target(app.http_target("https://..."))])
>>> result = await bus.put_events([{"source": "shop", "detail_type": "order", "detail": {...}}])

Definitions are validated when made. When the app opens, each declared bus is written to
the store as a *catalog* record (``bus/<name>``), so other processes (the CLI) can list,
publish to and replay a bus without the app's code. See docs/bus.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from stormproof.bus.events import (
    EntryError,
    PutEventsResult,
    ResultEntry,
    build_envelope,
    check_request,
)
from stormproof.bus.publish import Plan
from stormproof.bus.replays import Replay
from stormproof.bus.rules import BUS_NAME_RE, Archive, Rule
from stormproof.bus.services import BusServices
from stormproof.bus.targets import Target, bus_arn
from stormproof.core import names
from stormproof.errors import InvalidAttribute
from stormproof.patterns import PatternSet
from stormproof.storage.base import Operation


class Bus:
    """An event bus: its rules and archives, ``put_events`` and replays."""

    is_stormproof_bus = True
    kind = "bus"

    def __init__(self, manager: BusServices, name: str, declared: bool = True) -> None:
        if not names.is_name(BUS_NAME_RE, name):
            raise InvalidAttribute("name", name, "1 to 64 characters from A-Z a-z 0-9 _ -")
        if declared:
            names.refuse_reserved("name", name, "bus")
        self.manager = manager
        self.name = name
        self.declared = declared  # defined by this process's code (else read from the store)
        self.rules: dict[str, Rule] = {}
        self.archives: dict[str, Archive] = {}
        self._index: PatternSet[str] = PatternSet()
        self.dirty = True

    def __repr__(self) -> str:
        return f"Bus({self.name!r})"

    @property
    def arn(self) -> str:
        """The bus's stormproof resource identifier."""
        return bus_arn(self.name)

    # --- definitions ----------------------------------------------------------------

    def rule(
        self,
        name: str,
        pattern: Any = None,
        targets: Sequence[Target] = (),
        enabled: bool = True,
        *,
        schedule: str | None = None,
        description: str | None = None,
    ) -> Rule:
        """Define (or replace) a rule: an event ``pattern`` or a ``schedule`` expression
        (``rate(5 minutes)``, ``cron(0 12 * * ? *)``), and up to 5 targets."""
        names.refuse_reserved("name", name, "rule")
        rule = Rule(
            self.name,
            name,
            pattern=pattern,
            schedule=schedule,
            targets=targets,
            enabled=enabled,
            description=description,
        )
        self._put_rule(rule)
        return rule

    def _put_rule(self, rule: Rule) -> None:
        if rule.name in self._index:
            self._index.remove(rule.name)
        self.rules[rule.name] = rule
        if rule.pattern is not None and rule.enabled:
            self._index.add(rule.name, rule.pattern)
        self.dirty = True

    def archive(
        self, name: str, pattern: Any = None, retention: float | timedelta | None = None
    ) -> Archive:
        """Archive this bus's events (those matching ``pattern``) for ``retention`` seconds."""
        archive = Archive(self.name, name, pattern, retention)  # validates name first
        for bus in self.manager.buses.values():
            if bus is not self and name in bus.archives:
                raise InvalidAttribute("name", name, "an archive name no other bus uses")
        self.archives[name] = archive
        self.dirty = True
        return archive

    def matching(self, event: Mapping[str, Any], only: Sequence[str] | None = None) -> list[Rule]:
        """The enabled pattern rules matching ``event`` (restricted to ``only`` if given)."""
        names = self._index.matching(dict(event))
        if only is not None:
            names &= set(only)
        return [self.rules[n] for n in sorted(names)]

    def to_spec(self) -> dict[str, Any]:
        """The catalog record of this bus."""
        return {
            "name": self.name,
            "rules": [r.to_spec() for r in self.rules.values()],
            "archives": [a.to_spec() for a in self.archives.values()],
        }

    def load_spec(self, spec: Mapping[str, Any]) -> None:
        """Replace the definitions by a catalog record's."""
        self.rules.clear()
        self.archives = {a["name"]: Archive.from_spec(self.name, a) for a in spec["archives"]}
        self._index = PatternSet()
        for rule_spec in spec["rules"]:
            self._put_rule(Rule.from_spec(self.name, rule_spec))

    # --- publishing -----------------------------------------------------------------

    async def put_events(self, entries: Sequence[Mapping[str, Any]]) -> PutEventsResult:
        """Publish 1-10 entries ``{"source", "detail_type", "detail", "resources", "time"}``.

        Storage-first and atomic: when this returns, every accepted event, its archive rows
        and its deliveries are committed together. Per-entry errors are in the result.
        """
        items = check_request(entries)
        await self.manager.ready(self)
        now = self.manager.app.clock.now()
        results: list[ResultEntry] = []
        envelopes: list[dict[str, Any]] = []
        errors: list[EntryError] = []
        for entry in items:
            try:
                envelope = build_envelope(entry, now)
            except EntryError as exc:
                errors.append(exc)
                results.append(ResultEntry(None, exc.code, exc.message))
                continue
            envelopes.append(envelope)
            results.append(ResultEntry(envelope["id"]))
        if not envelopes and all(e.missing for e in errors):
            raise InvalidAttribute("entries", errors[0].message, "source, detail_type and detail")
        if envelopes:
            await self.manager.app.store.apply(self.publish_ops(envelopes, now), atomic=True)
        return PutEventsResult(results)

    def put_events_sync(self, entries: Sequence[Mapping[str, Any]]) -> PutEventsResult:
        """``put_events`` for producers outside asyncio (runs on the app's loop thread)."""
        return self.manager.app.run_sync(self.put_events(entries))

    async def delivery_ops(
        self, record: Any, now: float, *, source: str = "stormproof", detail_type: str = ""
    ) -> list[Operation]:
        """Publish ``record`` as the ``detail`` of one event (Destination protocol)."""
        await self.manager.ready(self)
        entry = {"source": source, "detail": record, "detail_type": detail_type or "Record"}
        return self.publish_ops([build_envelope(entry, now)], now)

    def publish_ops(
        self,
        envelopes: Sequence[dict[str, Any]],
        now: float,
        *,
        only: Sequence[str] | None = None,
        archive: bool = True,
    ) -> list[Operation]:
        """The unit of work publishing ``envelopes`` (see :mod:`stormproof.bus.publish`)."""
        plan = Plan(self.manager.app, self.name, now)
        archives = list(self.archives.values()) if archive else []
        for envelope in envelopes:
            plan.add(envelope, self.matching(envelope, only), archives)
        return plan.ops()

    # --- replay ---------------------------------------------------------------------

    async def start_replay(
        self,
        archive: str,
        start: datetime | float,
        end: datetime | float,
        rules: Sequence[str] | None = None,
        *,
        name: str | None = None,
    ) -> Replay:
        """Re-emit the archived events with ``start <= time < end`` through this bus's rules
        (only ``rules`` if given), each marked with a ``replay-name`` field."""
        await self.manager.ready(self)
        return await self.manager.replays.start(self, archive, start, end, rules, name)
