"""EventBridge's event-pattern language, as pure code.

- :func:`compile_pattern` validates one pattern (a mapping or JSON text) into a
  :class:`Pattern` whose ``matches(event)`` tells whether an event matches;
- :class:`PatternSet` matches many rules at once through an index.

Semantics follow the AWS documentation and AWS's recorded behaviour, and aws/event-ruler
(AWS's own open-source matcher) where those are silent. The modules, from the bottom up:
``wildcard`` and ``cidr`` (operator primitives), ``flatten`` (events into leaf fields),
``operators`` (one matcher per operator), ``expressions``/``anything_but``/``parse``
(validation and compilation), ``match`` (one branch with array consistency), ``compiled``
(:class:`Pattern`) and ``index`` (:class:`PatternSet`).
"""

from __future__ import annotations

from stormproof.core.patterns.compiled import EventSource, Pattern, PatternSource, compile_pattern
from stormproof.core.patterns.index import PatternSet
from stormproof.core.patterns.parse import MAX_PATTERN_LENGTH

__all__ = [
    "MAX_PATTERN_LENGTH",
    "EventSource",
    "Pattern",
    "PatternSet",
    "PatternSource",
    "compile_pattern",
]
