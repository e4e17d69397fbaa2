"""EventBridge event patterns: compile one, match events; match many rules at once.

>>> from stormproof.patterns import compile, PatternSet
>>> big_orders = compile({"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}})
>>> event = {"id": "1", "account": "111111111111", "source": "shop", "time": "2024-01-01T00:00:00Z",
...          "region": "us-east-1", "detail-type": "order", "detail": {"total": 250}}
>>> big_orders.matches(event)
True
>>> rules = PatternSet()
>>> _ = rules.add("big-orders", big_orders)
>>> _ = rules.add("from-bank", '{"source": [{"prefix": "bank."}]}')
>>> rules.matching(event)
{'big-orders'}

The whole language is supported: exact values (string, number, boolean, null), ``prefix``,
``suffix``, ``equals-ignore-case`` (also inside ``prefix``/``suffix``), ``wildcard``,
``anything-but`` (values, lists, and its ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``
forms), ``numeric``, ``cidr``, ``exists``, ``$or``, arrays in events and nested fields.

An invalid pattern raises :class:`~stormproof.errors.InvalidPattern` whose message reads as AWS's
does ("Event pattern is not valid. Reason: ..."). An event that is not a JSON object, or lacks
one of the envelope fields ``id``, ``account``, ``source``, ``time``, ``region``, ``detail-type``,
raises :class:`~stormproof.errors.InvalidEvent`. See ``docs/patterns.md`` for the semantics and
``docs/deviations/eventbridge-patterns.md`` for where they knowingly differ from AWS.
"""

from __future__ import annotations

from stormproof.core.patterns import (
    MAX_PATTERN_LENGTH,
    EventSource,
    Pattern,
    PatternSet,
    PatternSource,
    compile_pattern,
)
from stormproof.errors import InvalidEvent, InvalidPattern


def compile(pattern: PatternSource | Pattern) -> Pattern:
    """Validate and compile an event pattern given as a mapping or as JSON text.

    Returns a :class:`Pattern`; ``pattern.matches(event)`` then tells whether an event (a
    mapping or JSON text) matches. Raises :class:`~stormproof.errors.InvalidPattern` if the
    pattern is invalid or its text is longer than 4,096 characters.
    """
    return compile_pattern(pattern)


__all__ = [
    "MAX_PATTERN_LENGTH",
    "EventSource",
    "InvalidEvent",
    "InvalidPattern",
    "Pattern",
    "PatternSet",
    "PatternSource",
    "compile",
]
