"""Chaos faults and the pure decisions about them (see docs/chaos.md).

A :class:`Fault` says what to break (``target``), how (``action``), for how many processes
(``selection``), on what share of calls (``probability``) and for how long (``duration``:
every fault expires on its own). The runtime stores a :class:`Placement` (the fault with
its id and its absolute window) and asks the functions here, given ``now`` and a random
source, whether a process obeys and whether a call is hit: no clock, no I/O.
"""

from __future__ import annotations

import builtins
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from stormproof.errors import ValidationError

ACTIONS = ("error", "latency", "timeout", "throttle", "drop", "crash")
# Target kinds and whether they take a NAME after the colon.
KINDS = {
    "function": True,
    "breaker": True,
    "bus-target": True,
    "http-target": True,
    "webhook": True,
    "route": True,
    "stream-mapping": True,
    "store": False,
    "worker": False,
}
HTTP_KINDS = ("route", "http-target", "webhook")  # the targets that answer with a status
MAX_DURATION = 86400.0
MAX_LATENCY = 900.0
MAX_COUNT = 100_000
FIELDS = (
    "target",
    "action",
    "error",
    "status",
    "latency",
    "probability",
    "selection",
    "start_after",
    "duration",
    "seed",
    "name",
)
_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+(?:\.\d+)?)\))$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class Random(Protocol):
    """The random source the decisions draw from (``random.Random`` fits)."""

    def random(self) -> float:
        """A float in [0, 1)."""
        ...

    def uniform(self, a: float, b: float) -> float:
        """A float in [a, b]."""
        ...

    def gauss(self, mu: float, sigma: float) -> float:
        """A normal draw."""
        ...


@dataclass(frozen=True)
class Fault:
    """One fault to inject; validated when made (``ValidationError`` names the field)."""

    target: str
    action: str
    error: str | None = None
    status: int | None = None
    latency: float | Mapping[str, Any] | None = None
    probability: float = 1.0
    selection: str = "ALL"
    start_after: float = 0.0
    duration: float = 60.0
    seed: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        kind = check_target(self.target)
        check_action(self.action, kind)
        check_error(self.error, self.status, self.action, kind)
        check_latency(self.latency, self.action)
        _number("probability", self.probability, 0.0, 1.0)
        selection(self.selection)
        _number("start_after", self.start_after, 0.0, MAX_DURATION)
        _number("duration", self.duration, 0.0, MAX_DURATION, open_low=True)
        if self.seed is not None and (type(self.seed) is not int):
            raise ValidationError("seed", self.seed, "an integer or None")
        if self.name is not None and (not isinstance(self.name, str) or len(self.name) > 256):
            raise ValidationError("name", self.name, "a string of at most 256 characters")

    @property
    def kind(self) -> str:
        """The target's kind (``function``, ``route``, ``store``...)."""
        return self.target.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML form (every field, ``None`` included)."""
        out = asdict(self)
        if isinstance(self.latency, Mapping):
            out["latency"] = dict(self.latency)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from its JSON/YAML form; unknown or missing fields are refused."""
        if not isinstance(data, Mapping):
            raise ValidationError("fault", data, "a mapping of fault fields")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ValidationError(unknown[0], data[unknown[0]], f"one of {', '.join(FIELDS)}")
        for required in ("target", "action"):
            if required not in data:
                raise ValidationError(required, None, "a value (the field is required)")
        return cls(**dict(data))


@dataclass(frozen=True)
class Placement:
    """A stored fault: its id and its absolute window ``[starts_at, expires_at)``."""

    id: str
    fault: Fault
    injected_at: float
    starts_at: float
    expires_at: float

    def to_dict(self) -> dict[str, Any]:
        """The stored (and listed) form."""
        return {
            "id": self.id,
            "fault": self.fault.to_dict(),
            "injected_at": self.injected_at,
            "starts_at": self.starts_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Placement:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["id"]),
            Fault.from_dict(data["fault"]),
            float(data["injected_at"]),
            float(data["starts_at"]),
            float(data["expires_at"]),
        )


def place(fault_id: str, fault: Fault, now: float) -> Placement:
    """The fault's window when injected at ``now``: it starts ``start_after`` seconds later
    and expires ``duration`` seconds after it starts."""
    starts = now + fault.start_after
    return Placement(fault_id, fault, now, starts, starts + fault.duration)


def is_active(placement: Placement, now: float) -> bool:
    """Whether the fault applies at ``now`` (started and not expired)."""
    return placement.starts_at <= now < placement.expires_at


def selection(text: str) -> tuple[str, float]:
    """``ALL`` -> ("ALL", 0); ``COUNT(n)`` -> ("COUNT", n); ``PERCENT(p)`` -> ("PERCENT", p)."""
    found = _SELECTION.match(text) if isinstance(text, str) else None
    allowed = "ALL, COUNT(n) with 1 <= n <= 100000, or PERCENT(p) with 0 < p <= 100"
    if found is None:
        raise ValidationError("selection", text, allowed)
    if found.group(2) is not None:
        count = int(found.group(2))
        if not 1 <= count <= MAX_COUNT:
            raise ValidationError("selection", text, allowed)
        return "COUNT", count
    if found.group(3) is not None:
        percent = float(found.group(3))
        if not 0 < percent <= 100:
            raise ValidationError("selection", text, allowed)
        return "PERCENT", percent
    return "ALL", 0


def percent_obeys(instance_id: str, fault_id: str, percent: float) -> bool:
    """Whether a process is among the ``percent`` % that obey: a stable hash of the process
    and the fault, so a process keeps its answer for the fault's whole life."""
    digest = hashlib.sha256(f"{instance_id}/{fault_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < percent / 100


def matches(fault_target: str, call_target: str) -> bool:
    """Whether a fault's target covers a call site's target (HTTP targets by URL prefix)."""
    if fault_target.startswith("http-target:") and call_target.startswith("http-target:"):
        return call_target.startswith(fault_target)
    return fault_target == call_target


def hits(probability: float, rng: Random) -> bool:
    """Whether this call gets the fault (one draw, so a seeded source is reproducible)."""
    return probability >= 1.0 or rng.random() < probability


def draw_latency(latency: float | Mapping[str, Any] | None, rng: Random) -> float:
    """Seconds to add: fixed, uniform(min, max) or normal(mean, stddev) clipped at 0."""
    if latency is None:
        return 0.0
    if not isinstance(latency, Mapping):
        return float(latency)
    if latency["distribution"] == "uniform":
        return rng.uniform(float(latency["min"]), float(latency["max"]))
    drawn = rng.gauss(float(latency["mean"]), float(latency["stddev"]))
    return min(MAX_LATENCY, max(0.0, drawn))


def error_name(fault: Fault) -> str:
    """The exception type an ``error`` fault raises: its ``error``, else the target's
    natural transient failure (the store's ``StoreUnavailable``, else ``ConnectionError``)."""
    if fault.error is not None:
        return fault.error
    return "stormproof.errors.StoreUnavailable" if fault.kind == "store" else "ConnectionError"


# --- validation -------------------------------------------------------------------


def check_target(target: Any) -> str:
    """The target's kind; ``ValidationError`` unless it is one of the documented forms."""
    allowed = (
        "function:NAME, breaker:NAME, bus-target:BUS/RULE, http-target:URL-PREFIX, "
        "webhook:ROUTE-PATH, route:METHOD PATH, stream-mapping:STREAM, store or worker"
    )
    if not isinstance(target, str) or not target or len(target) > 1024:
        raise ValidationError("target", target, allowed)
    kind, colon, rest = target.partition(":")
    takes_name = KINDS.get(kind)
    if takes_name is None or takes_name != bool(colon) or (takes_name and not rest.strip()):
        raise ValidationError("target", target, allowed)
    if kind == "route" and not re.match(r"^[A-Z]+ /", rest):
        raise ValidationError("target", target, "route:METHOD PATH, e.g. route:POST /bookings")
    if kind == "bus-target" and rest.count("/") != 1:
        raise ValidationError("target", target, "bus-target:BUS/RULE")
    return kind


def check_action(action: Any, kind: str) -> None:
    """Refuse an unknown action, and a worker target with anything but ``crash``."""
    if action not in ACTIONS:
        raise ValidationError("action", action, f"one of {', '.join(ACTIONS)}")
    if kind == "worker" and action != "crash":
        raise ValidationError("action", action, "crash (the only action on the worker target)")
    if kind == "store" and action not in ("error", "latency", "timeout"):
        raise ValidationError("action", action, "error, latency or timeout on the store")


def check_error(error: Any, status: Any, action: str, kind: str) -> None:
    """``error`` (a builtin exception name or a dotted path) or ``status`` (400-599, only
    on route/http-target/webhook targets), never both, only with action=error."""
    if error is not None and status is not None:
        raise ValidationError("status", status, "None when error is given (one or the other)")
    if (error is not None or status is not None) and action != "error":
        field, value = ("error", error) if error is not None else ("status", status)
        raise ValidationError(field, value, "None unless action is error")
    if status is not None:
        if kind not in HTTP_KINDS:
            raise ValidationError("status", status, "None on a non-HTTP target (use error)")
        if type(status) is not int or not 400 <= status <= 599:
            raise ValidationError("status", status, "an HTTP status from 400 to 599")
    if error is not None:
        if not isinstance(error, str) or not _DOTTED.match(error):
            raise ValidationError("error", error, "an exception type name or a dotted path")
        found = getattr(builtins, error, None) if "." not in error else BaseException
        if not (isinstance(found, type) and issubclass(found, BaseException)):
            raise ValidationError("error", error, "a builtin exception name or a dotted path")


def check_latency(latency: Any, action: str) -> None:
    """Seconds 0-900, or a ``uniform``/``normal`` distribution; required by action=latency."""
    if latency is None:
        if action == "latency":
            raise ValidationError("latency", None, "seconds or a distribution (required)")
        return
    if not isinstance(latency, Mapping):
        _number("latency", latency, 0.0, MAX_LATENCY)
        return
    shape = {"uniform": ("min", "max"), "normal": ("mean", "stddev")}
    keys = shape.get(latency.get("distribution"))  # type: ignore[arg-type]
    if keys is None or set(latency) != {"distribution", *keys}:
        raise ValidationError(
            "latency",
            dict(latency),
            "{distribution: uniform, min, max} or {distribution: normal, mean, stddev}",
        )
    for key in keys:
        _number(f"latency.{key}", latency[key], 0.0, MAX_LATENCY)
    if keys[0] == "min" and latency["min"] > latency["max"]:
        raise ValidationError("latency.max", latency["max"], f">= min ({latency['min']})")


def _number(field: str, value: Any, low: float, high: float, open_low: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or value < low or (open_low and value == low):
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise ValidationError(field, value, f"a number {bound} and <= {high:g}")
