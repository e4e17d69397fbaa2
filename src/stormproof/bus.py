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

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from stormproof.bus_archive import Replay
from stormproof.bus_events import (
    EntryError,
    PutEventsResult,
    ResultEntry,
    build_envelope,
    check_request,
)
from stormproof.bus_publish import Plan
from stormproof.bus_targets import Target, bus_arn, rule_arn
from stormproof.core import names, queue_rules
from stormproof.core import schedule as schedules
from stormproof.errors import InvalidAttribute
from stormproof.patterns import Pattern, PatternSet
from stormproof.patterns import compile as compile_pattern
from stormproof.storage.base import Operation

if TYPE_CHECKING:
    from stormproof.bus_manager import BusManager

BUS_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
RULE_NAME_RE = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
MAX_TARGETS = 5
MAX_DESCRIPTION = 512


def _pattern_text(pattern: Any) -> tuple[Pattern, str]:
    compiled = compile_pattern(pattern)
    text = pattern if isinstance(pattern, str) else json.dumps(pattern, separators=(",", ":"))
    return compiled, text


class Rule:
    """A rule: an event pattern (or a schedule) and up to five targets."""

    def __init__(
        self,
        bus: str,
        name: str,
        *,
        pattern: Any = None,
        schedule: str | None = None,
        targets: Sequence[Target] = (),
        enabled: bool = True,
        description: str | None = None,
    ) -> None:
        if not names.is_name(RULE_NAME_RE, name):
            raise InvalidAttribute("name", name, "1 to 64 characters from A-Z a-z 0-9 . _ -")
        if (pattern is None) == (schedule is None):
            raise InvalidAttribute("pattern", pattern, "an event pattern or a schedule (one)")
        self.bus, self.name = bus, name
        self.pattern: Pattern | None = None
        self.pattern_text: str | None = None
        if pattern is not None:
            self.pattern, self.pattern_text = _pattern_text(pattern)
        self.schedule = schedule
        self.timer = schedules.parse(schedule) if schedule is not None else None
        if not isinstance(enabled, bool):
            raise InvalidAttribute("enabled", enabled, "True or False")
        self.enabled = enabled
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            raise InvalidAttribute("description", description, "up to 512 characters")
        self.description = description
        self.targets = _check_targets(targets)

    def __repr__(self) -> str:
        return f"Rule({self.bus}/{self.name})"

    @property
    def arn(self) -> str:
        """The rule's stormproof resource identifier."""
        return rule_arn(self.bus, self.name)

    def target(self, target_id: str) -> Target | None:
        """The target with that id, if any."""
        return next((t for t in self.targets if t.id == target_id), None)

    def to_spec(self) -> dict[str, Any]:
        """Plain JSON for the catalog."""
        return {
            "name": self.name,
            "pattern": self.pattern_text,
            "schedule": self.schedule,
            "enabled": self.enabled,
            "description": self.description,
            "targets": [t.to_spec() for t in self.targets],
        }

    @classmethod
    def from_spec(cls, bus: str, spec: Mapping[str, Any]) -> Rule:
        """A rule rebuilt from the catalog."""
        return cls(
            bus,
            spec["name"],
            pattern=spec.get("pattern"),
            schedule=spec.get("schedule"),
            targets=[Target.from_spec(t) for t in spec.get("targets", [])],
            enabled=spec.get("enabled", True),
            description=spec.get("description"),
        )


def _check_targets(targets: Any) -> list[Target]:
    if isinstance(targets, Target):
        targets = [targets]
    if not isinstance(targets, Sequence) or len(targets) > MAX_TARGETS:
        raise InvalidAttribute("targets", targets, f"a list of at most {MAX_TARGETS} Targets")
    out = list(targets)
    for target in out:
        if not isinstance(target, Target):
            raise InvalidAttribute("targets", target, "Target(...) objects")
    ids = [t.id for t in out]
    for i, target in enumerate(out):
        if ids.count(target.id) > 1:
            # Two targets on one destination: number them rather than refuse.
            target.id = f"{target.id}-{i + 1}"[-64:]
    if len({t.id for t in out}) != len(out):
        raise InvalidAttribute("targets", ids, "targets with distinct ids")
    return out


class Archive:
    """An archive of a bus: every event (or those matching ``pattern``) kept for
    ``retention`` seconds (None: forever)."""

    def __init__(self, bus: str, name: str, pattern: Any = None, retention: Any = None) -> None:
        if not names.is_name(RULE_NAME_RE, name):
            raise InvalidAttribute("name", name, "1 to 64 characters from A-Z a-z 0-9 . _ -")
        self.bus, self.name = bus, name
        self.pattern: Pattern | None = None
        self.pattern_text: str | None = None
        if pattern is not None:
            self.pattern, self.pattern_text = _pattern_text(pattern)
        seconds = queue_rules.seconds("retention", retention)
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 60
        ):
            raise InvalidAttribute("retention", retention, "None (forever) or at least 60 seconds")
        self.retention: float | None = None if seconds is None else float(seconds)

    @property
    def arn(self) -> str:
        """The archive's stormproof resource identifier."""
        return f"stormproof:events:archive/{self.name}"

    def to_spec(self) -> dict[str, Any]:
        """Plain JSON for the catalog."""
        return {"name": self.name, "pattern": self.pattern_text, "retention": self.retention}

    @classmethod
    def from_spec(cls, bus: str, spec: Mapping[str, Any]) -> Archive:
        """An archive rebuilt from the catalog."""
        return cls(bus, spec["name"], spec.get("pattern"), spec.get("retention"))


class Bus:
    """An event bus: its rules and archives, ``put_events`` and replays."""

    is_stormproof_bus = True

    def __init__(self, manager: BusManager, name: str, declared: bool = True) -> None:
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
        rule = Rule(self.name, name, pattern=pattern, schedule=schedule, targets=targets,
                    enabled=enabled, description=description)  # fmt: skip
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
        for bus in self.manager.buses.values():
            if bus is not self and name in bus.archives:
                raise InvalidAttribute("name", name, "an archive name no other bus uses")
        archive = Archive(self.name, name, pattern, retention)
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

    def publish_ops(
        self,
        envelopes: Sequence[dict[str, Any]],
        now: float,
        *,
        only: Sequence[str] | None = None,
        archive: bool = True,
    ) -> list[Operation]:
        """The unit of work publishing ``envelopes`` (see :mod:`stormproof.bus_publish`)."""
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
