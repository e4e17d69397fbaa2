"""Evaluating one branch of a pattern against a flattened event, with array consistency.

A branch matches when every condition holds. A condition holds through a leaf value it accepts,
or, with ``{"exists": false}``, through the field's absence.

JSON array consistency (aws/event-ruler ``rulesForJSONEvent``): the leaves used for different
conditions must agree on every array they share, so two fields matched in different elements of
the same array of objects do not combine. A field counts as absent when none of its leaves
agrees with the elements the other conditions used. (event-ruler judges absence only against the
fields that sort before it; here absence is judged against all of them, so the result does not
depend on field names. See docs/deviations/eventbridge-patterns.md.)

Most events need none of this: when some accepted leaf of every condition lies outside any array
of objects, any choice is consistent and the answer is immediate. Otherwise a depth-first search
picks one leaf per condition; it is split into independent groups of conditions that share no
array, so its cost grows with the choices inside one group, not across groups.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from stormproof.core.patterns.flatten import Fields, Leaf, Membership
from stormproof.core.patterns.operators import Condition

SEARCH_BUDGET = 100_000
"""Choices the consistency search may try for one branch before it reports no match."""


Buckets = dict[int, dict[int, list[Leaf]]]
"""Leaves filed by their outermost array and element index."""


def _bucket(leaves: Sequence[Leaf]) -> Buckets:
    # The leaves of one path nearly always share their outermost array (the path fixes the
    # route to it), so once that array's element is chosen only one bucket can still agree.
    buckets: Buckets = {}
    for leaf in leaves:
        array, index = leaf.membership[0]
        buckets.setdefault(array, {}).setdefault(index, []).append(leaf)
    return buckets


@dataclass(slots=True)
class _Plan:
    """The ways one condition can hold: ``candidates`` leaves, or absence if ``absent``."""

    candidates: list[Leaf]
    absent: bool
    leaves: Sequence[Leaf]
    arrays: set[int] = field(default_factory=set)
    options: Buckets = field(default_factory=dict)
    present: Buckets = field(default_factory=dict)


def branch_matches(conditions: tuple[tuple[str, Condition], ...], fields: Fields) -> bool:
    """Whether every condition of a branch holds in the flattened event ``fields``."""
    plans: list[_Plan] = []
    for path, condition in conditions:
        leaves = fields.get(path, ())
        candidates = [leaf for leaf in leaves if condition.accepts(leaf.value, leaf.key)]
        # Absence needs every leaf of the field to sit in an array element that can be ruled out.
        absent = condition.absent_ok and all(leaf.membership for leaf in leaves)
        if not candidates and not absent:
            return False
        if any(not leaf.membership for leaf in candidates) or not (candidates or leaves):
            continue  # holds whatever the other conditions choose
        plans.append(_Plan(candidates, absent, leaves))
    return not plans or all(_Search(group).run() for group in _groups(plans))


def _groups(plans: list[_Plan]) -> list[list[_Plan]]:
    """Split plans into groups that share no array (their choices cannot conflict)."""
    for plan in plans:
        for leaf in [*plan.candidates, *(plan.leaves if plan.absent else ())]:
            plan.arrays.update(array for array, _ in leaf.membership)
    groups: list[tuple[set[int], list[_Plan]]] = []
    for plan in plans:
        arrays, members = set(plan.arrays), [plan]
        for group in [g for g in groups if g[0] & arrays]:
            groups.remove(group)
            arrays |= group[0]
            members.extend(group[1])
        groups.append((arrays, members))
    return [members for _, members in groups]


def _agrees(chosen: dict[int, int], membership: Membership) -> bool:
    return all(chosen.get(array, index) == index for array, index in membership)


class _Search:
    """Depth-first choice of one leaf (or absence) per plan, consistent across arrays."""

    def __init__(self, plans: list[_Plan]) -> None:
        # Fewest options first; absence last within equal counts, as it only constrains.
        self.plans = sorted(plans, key=lambda p: (len(p.candidates) + p.absent, p.absent))
        for plan in self.plans:
            plan.options = _bucket(plan.candidates)
            plan.present = _bucket(plan.leaves) if plan.absent else {}
        self.chosen: dict[int, int] = {}
        self.absences: list[_Plan] = []
        self.budget = SEARCH_BUDGET

    def run(self, depth: int = 0) -> bool:
        """Whether the plans from ``depth`` on can all hold given the choices made so far."""
        if depth == len(self.plans):
            return self._still_absent(final=True)
        plan = self.plans[depth]
        for leaf in self._options(plan):
            if self._try_leaf(leaf, depth):
                return True
        if plan.absent:
            self.absences.append(plan)
            found = self._still_absent(final=False) and self.run(depth + 1)
            self.absences.pop()
            return found
        return False

    def _options(self, plan: _Plan) -> Iterator[Leaf]:
        """The candidates of ``plan`` whose outermost array element is not yet ruled out."""
        for array, by_index in plan.options.items():
            if array in self.chosen:
                yield from by_index.get(self.chosen[array], ())
            else:
                for leaves in by_index.values():
                    yield from leaves

    def _try_leaf(self, leaf: Leaf, depth: int) -> bool:
        self.budget -= 1
        if self.budget < 0 or not _agrees(self.chosen, leaf.membership):
            return False
        added = [array for array, _ in leaf.membership if array not in self.chosen]
        self.chosen.update(leaf.membership)
        found = self._still_absent(final=False) and self.run(depth + 1)
        for array in added:
            del self.chosen[array]
        return found

    def _still_absent(self, *, final: bool) -> bool:
        """Whether no field that must be absent is present in the elements chosen so far.

        Before the end only leaves whose arrays are all decided can be judged; at the end
        (``final``) a leaf in an array no choice constrains counts as present.
        """
        for plan in self.absences:
            for array, by_index in plan.present.items():
                if array not in self.chosen:
                    if final:
                        return False
                    continue
                leaves = by_index.get(self.chosen[array], ())
                self.budget -= len(leaves)
                for leaf in leaves:
                    settled = final or all(a in self.chosen for a, _ in leaf.membership)
                    if settled and _agrees(self.chosen, leaf.membership):
                        return False
        return True
