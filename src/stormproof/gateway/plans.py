"""Usage plans (API Gateway's): a per-client throttle and a quota per day, week or month.

A plan is a state record ``usage-plan:<name>``; API keys name the plan they belong to
(:mod:`stormproof.gateway.keys`). The throttle applies to each key of the plan on its own
(as API Gateway's per-client limits do), and so does the quota.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from stormproof.core.quota import Quota
from stormproof.core.token_bucket import BucketLimits
from stormproof.errors import InvalidAttribute
from stormproof.storage.base import CompareAndSet, Store

PREFIX = "usage-plan:"
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class UsagePlan:
    """A named plan: ``throttle`` (rate/burst per key) and ``quota`` (per key), each optional."""

    name: str
    throttle: BucketLimits | None = None
    quota: Quota | None = None

    def to_json(self) -> str:
        """The stored value."""
        body: dict[str, Any] = {"name": self.name}
        if self.throttle is not None:
            body["throttle"] = {"rate": self.throttle.rate, "burst": self.throttle.burst}
        if self.quota is not None:
            q = self.quota
            body["quota"] = {"limit": q.limit, "period": q.period, "offset": q.offset}
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> UsagePlan:
        """Parse a stored plan."""
        body = json.loads(text)
        throttle = BucketLimits(**body["throttle"]) if "throttle" in body else None
        quota = Quota(**body["quota"]) if "quota" in body else None
        return cls(body["name"], throttle, quota)

    def describe(self) -> dict[str, Any]:
        """The plan as plain data (CLI output)."""
        return dict(json.loads(self.to_json()))


def plan_key(name: str) -> str:
    """The state key of a plan."""
    return PREFIX + name


async def create_plan(
    store: Store,
    name: str,
    *,
    rate: float | None = None,
    burst: int | None = None,
    quota: int | None = None,
    period: str = "DAY",
    offset: int = 0,
) -> UsagePlan:
    """Create or replace a usage plan (``rate``/s with ``burst``; ``quota`` per ``period``)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidAttribute("name", name, "1-80 letters, digits, '-' or '_'")
    throttle = None
    if rate is not None:
        throttle = BucketLimits(rate, burst if burst is not None else max(1, int(rate)))
    plan = UsagePlan(name, throttle, Quota(quota, period, offset) if quota is not None else None)
    current = await store.get_state(plan_key(name))
    op = CompareAndSet(plan_key(name), current.version if current else None, plan.to_json())
    [result] = await store.apply([op])
    if not result.ok:
        raise InvalidAttribute("name", name, "a plan not being changed concurrently")
    return plan


async def get_plan(store: Store, name: str) -> UsagePlan | None:
    """A plan by name (None if there is none)."""
    found = await store.get_state(plan_key(name))
    return UsagePlan.from_json(found.value) if found else None


async def list_plans(store: Store) -> list[UsagePlan]:
    """Every plan, by name."""
    return sorted(
        (UsagePlan.from_json(r.value) for r in await store.list_states(PREFIX)),
        key=lambda p: p.name,
    )
