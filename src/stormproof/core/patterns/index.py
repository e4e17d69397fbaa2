"""Many rules matched through one index instead of a loop over rules.

Like aws/event-ruler's state machine, the index looks values up instead of trying rules one by
one. Every condition whose alternatives are all exact values, ``prefix`` strings,
``equals-ignore-case`` strings or IP literals (and that does not accept absence) is *indexed*: it
gets a slot, and the slot is filed under each of its values in a per-path table (exact keys in a
hash table, prefixes in one hash table per prefix length, lower-cased strings for
ignore-case, IP addresses by number).

Matching an event flattens it once, visiting only the paths some rule names. Each leaf is looked
up in the tables of its path; the slots found are the indexed conditions that hold. A branch
whose indexed conditions all hold is a *candidate*, and only candidates (plus the few branches
with no indexed condition at all) are evaluated in full, array consistency included. An event
therefore costs about its own size plus the rules it nearly matches, not the number of rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from stormproof.core.patterns.cidr import parse_ip
from stormproof.core.patterns.compiled import EventSource, Pattern, PatternSource, compile_pattern
from stormproof.core.patterns.flatten import Fields, flatten, load_event, path_prefixes
from stormproof.core.patterns.match import branch_matches
from stormproof.core.patterns.operators import Cidr, Condition, EqualsIgnoreCase, Prefix

K = TypeVar("K", bound=Hashable)
Postings = dict[Hashable, list[int]]


def _indexable(condition: Condition) -> bool:
    if condition.absent_ok:
        return False
    for matcher in condition.others:
        if isinstance(matcher, Cidr):
            if matcher.block.low != matcher.block.high:
                return False
        elif not isinstance(matcher, Prefix | EqualsIgnoreCase):
            return False
    return True


@dataclass(slots=True)
class _PathTables:
    """Postings of one field path: value key, prefix, lower-cased string, IP -> slots."""

    exact: Postings = field(default_factory=dict)
    prefixes: dict[int, Postings] = field(default_factory=dict)
    lowered: Postings = field(default_factory=dict)
    ips: Postings = field(default_factory=dict)

    def entries(self, condition: Condition) -> Iterator[tuple[Postings, Hashable]]:
        """Where ``condition``'s values are filed (creating the prefix table it needs)."""
        for key in condition.exact:
            yield self.exact, key
        for matcher in condition.others:
            if isinstance(matcher, Prefix):
                yield self.prefixes.setdefault(len(matcher.prefix), {}), matcher.prefix
            elif isinstance(matcher, EqualsIgnoreCase):
                yield self.lowered, matcher.lowered
            elif isinstance(matcher, Cidr):
                yield self.ips, (matcher.block.version, matcher.block.low)

    def collect(self, value: Any, key: Hashable, hits: set[int]) -> None:
        """Add to ``hits`` the slots whose condition accepts this leaf."""
        found = self.exact.get(key)
        if found:
            hits.update(found)
        if not isinstance(value, str):
            return
        for length, table in self.prefixes.items():
            if len(value) >= length:
                found = table.get(value[:length])
                if found:
                    hits.update(found)
        if self.lowered:
            hits.update(self.lowered.get(value.lower(), ()))
        if self.ips:
            hits.update(self.ips.get(parse_ip(value), ()))

    def empty(self) -> bool:
        """Whether nothing is filed here any more."""
        return not (self.exact or self.prefixes or self.lowered or self.ips)


@dataclass(slots=True)
class _BranchEntry:
    rule: Any  # the rule id (typed K by PatternSet)
    conditions: tuple[tuple[str, Condition], ...]
    need: int
    slots: list[tuple[int, str, Postings, Hashable]]


class PatternSet(Generic[K]):
    """A mutable set of rules (``rule_id -> pattern``) matched against events together.

    ``matching(event)`` returns the ids of every rule whose pattern matches; it equals
    ``{r for r, p in rules if compile(p).matches(event)}`` but evaluates only candidate rules.
    Adding a rule id again replaces its pattern.
    """

    def __init__(self) -> None:
        self._rules: dict[K, tuple[Pattern, list[int]]] = {}
        self._branches: dict[int, _BranchEntry] = {}
        self._slot_branch: dict[int, int] = {}
        self._tables: dict[str, _PathTables] = {}
        self._unindexed: set[int] = set()
        self._prefix_refs: Counter[str] = Counter()
        self._wanted: frozenset[str] = frozenset()
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[K]:
        return iter(self._rules)

    def get(self, rule_id: K) -> Pattern | None:
        """The compiled pattern of ``rule_id``, or ``None``."""
        entry = self._rules.get(rule_id)
        return entry[0] if entry else None

    def add(self, rule_id: K, pattern: PatternSource | Pattern) -> Pattern:
        """Add (or replace) a rule; returns its compiled pattern. ``InvalidPattern`` if bad."""
        compiled = compile_pattern(pattern)
        if rule_id in self._rules:
            self.remove(rule_id)
        branch_ids = [self._add_branch(rule_id, b.conditions) for b in compiled.branches]
        self._rules[rule_id] = (compiled, branch_ids)
        self._refresh_paths(compiled, +1)
        return compiled

    def remove(self, rule_id: K) -> None:
        """Remove a rule; ``KeyError`` if there is none with that id."""
        compiled, branch_ids = self._rules.pop(rule_id)
        for branch_id in branch_ids:
            self._remove_branch(branch_id)
        self._refresh_paths(compiled, -1)

    def matching(self, event: EventSource) -> set[K]:
        """Ids of the rules matching ``event`` (a mapping or JSON text)."""
        loaded = load_event(event)
        if not self._rules:
            return set()
        fields = flatten(loaded, self._wanted)
        matched: set[K] = set()
        for branch_id in self._candidates(fields):
            entry = self._branches[branch_id]
            if entry.rule not in matched and branch_matches(entry.conditions, fields):
                matched.add(entry.rule)
        return matched

    def _candidates(self, fields: Fields) -> list[int]:
        hits: set[int] = set()
        for path, leaves in fields.items():
            tables = self._tables.get(path)
            if tables is not None:
                for leaf in leaves:
                    tables.collect(leaf.value, leaf.key, hits)
        counts = Counter(self._slot_branch[slot] for slot in hits)
        branches = self._branches
        found = [b for b, count in counts.items() if count == branches[b].need]
        found.extend(self._unindexed)
        return found

    def _add_branch(self, rule_id: K, conditions: tuple[tuple[str, Condition], ...]) -> int:
        branch_id = self._new_id()
        entry = _BranchEntry(rule_id, conditions, 0, [])
        for path, condition in conditions:
            if not _indexable(condition):
                continue
            slot = self._new_id()
            entry.need += 1
            self._slot_branch[slot] = branch_id
            tables = self._tables.setdefault(path, _PathTables())
            for postings, key in tables.entries(condition):
                postings.setdefault(key, []).append(slot)
                entry.slots.append((slot, path, postings, key))
        self._branches[branch_id] = entry
        if not entry.need:
            self._unindexed.add(branch_id)
        return branch_id

    def _remove_branch(self, branch_id: int) -> None:
        entry = self._branches.pop(branch_id)
        self._unindexed.discard(branch_id)
        for slot, path, postings, key in entry.slots:
            self._slot_branch.pop(slot, None)
            postings[key].remove(slot)
            if not postings[key]:
                del postings[key]
            tables = self._tables[path]
            for length in [n for n, table in tables.prefixes.items() if not table]:
                del tables.prefixes[length]
            if tables.empty():
                del self._tables[path]

    def _refresh_paths(self, compiled: Pattern, delta: int) -> None:
        """Keep the set of paths flattening must visit in step with the rules."""
        for prefix in path_prefixes(set(compiled.paths)):
            self._prefix_refs[prefix] += delta
            if self._prefix_refs[prefix] <= 0:
                del self._prefix_refs[prefix]
        self._wanted = frozenset(self._prefix_refs)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id
