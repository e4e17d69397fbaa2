"""Rules and archives of a bus: their definitions, validated when made."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from stormproof.bus.targets import Target, rule_arn
from stormproof.core import names, queue_rules
from stormproof.core import schedule as schedules
from stormproof.errors import InvalidAttribute
from stormproof.patterns import Pattern
from stormproof.patterns import compile as compile_pattern

BUS_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
RULE_NAME_RE = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
MAX_TARGETS = 5
MAX_DESCRIPTION = 512


def pattern_text(pattern: Any) -> tuple[Pattern, str]:
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
            self.pattern, self.pattern_text = pattern_text(pattern)
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
        self.targets = check_targets(targets)

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


def check_targets(targets: Any) -> list[Target]:
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
            self.pattern, self.pattern_text = pattern_text(pattern)
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
