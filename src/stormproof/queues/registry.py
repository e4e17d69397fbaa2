"""An app's queues (``app.queues``): declarations, reconciliation with the store, admin.

Declarations are validated at once and created or updated when the app opens, a
dead-letter queue before the queues that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from stormproof.core import queue_rules as rules
from stormproof.engine.runtime import Runtime
from stormproof.errors import InvalidAttribute, QueueDoesNotExist, QueueInUse
from stormproof.queues.queue import Queue
from stormproof.queues.redrive import RedriveManager

Seconds = float | timedelta
#: Given a queue name, how this process's code uses it (e.g. "mapping to 'handle'").
UsesOf = Callable[[str], list[str]]


class QueueRegistry:
    """The queues of one app: declared handles and the cached attributes of open ones."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.redrives = RedriveManager(rt)
        self._declared: dict[str, Queue] = {}
        self._attrs: dict[str, rules.QueueAttributes] = {}
        #: Registered by higher layers (mappings, destinations, bus targets) at creation.
        self.users: list[UsesOf] = []

    def declare(self, name: str, fifo: bool | None, changes: dict[str, Any]) -> Queue:
        """Declare a queue with the attributes passed (``UNSET`` ones already dropped)."""
        is_fifo = rules.validate_queue_name(name, fifo)
        if isinstance(changes.get("dead_letter"), Queue):
            dlq: Queue = changes["dead_letter"]
            if dlq.fifo != is_fifo:
                kind = "FIFO" if is_fifo else "standard"
                raise InvalidAttribute("dead_letter", dlq.name, f"a {kind} queue, like {name!r}")
            changes["dead_letter"] = dlq.name
        changes = rules.validate_attribute_changes(changes)
        rules.check_own_dead_letter(name, changes.get("dead_letter"))
        if changes.get("content_based_deduplication") and not is_fifo:
            raise InvalidAttribute("content_based_deduplication", True, "False on a standard queue")
        previous = self._declared.get(name)
        merged = {**(previous.changes if previous else {}), **changes}
        handle = Queue(self.rt, self.redrives, name, is_fifo, merged)
        self._declared[name] = handle
        return handle

    async def open(self) -> None:
        """Create or update every declared queue, dead-letter queues first."""
        for handle in self._in_dependency_order():
            await self._reconcile(handle)

    async def close(self) -> None:
        """Stop this process's redrive tasks (others take them over)."""
        await self.redrives.close()

    def _in_dependency_order(self) -> list[Queue]:
        ordered: list[Queue] = []

        def visit(q: Queue, depth: int) -> None:
            dlq = q.changes.get("dead_letter")
            if dlq in self._declared and depth < len(self._declared):
                visit(self._declared[dlq], depth + 1)
            if q not in ordered:
                ordered.append(q)

        for q in self._declared.values():
            visit(q, 0)
        return ordered

    async def _reconcile(self, handle: Queue) -> None:
        await self._put(handle.name, handle.fifo, handle.changes)

    async def _put(self, name: str, fifo: bool, changes: dict[str, Any]) -> rules.QueueAttributes:
        store = self.rt.store
        existing = await store.get_queue(name)
        base = existing.attributes if existing else rules.QueueAttributes(fifo=fifo)
        if existing and existing.attributes.fifo != fifo:
            raise InvalidAttribute(
                "fifo", fifo, f"{existing.attributes.fifo}: FIFO-ness is set at creation"
            )
        attrs = base.merged(changes)
        if attrs.dead_letter:
            dlq = await store.get_queue(attrs.dead_letter)
            if dlq is None:
                raise QueueDoesNotExist(attrs.dead_letter)
            rules.check_dead_letter(name, attrs, attrs.dead_letter, dlq.attributes)
        stored = await store.put_queue(name, attrs)
        self._attrs[name] = stored.attributes
        return stored.attributes

    def attributes_of(self, name: str) -> rules.QueueAttributes:
        """Cached attributes of an open queue."""
        try:
            return self._attrs[name]
        except KeyError:
            raise QueueDoesNotExist(name) from None

    async def get(self, name: str) -> Queue:
        """A handle on an existing queue (declared elsewhere); raises QueueDoesNotExist."""
        stored = await self.rt.store.get_queue(name)
        if stored is None:
            raise QueueDoesNotExist(name)
        self._attrs[name] = stored.attributes
        known = self._declared.get(name)
        return known or Queue(self.rt, self.redrives, name, stored.attributes.fifo, {})

    async def create(self, name: str, **attributes: Any) -> Queue:
        """Create (or update) a queue at run time with the same rules as a declaration."""
        fifo = attributes.pop("fifo", None)
        handle = self.declare(name, fifo, attributes)
        await self._reconcile(handle)
        return handle

    async def update(self, name: str, **attributes: Any) -> Queue:
        """Change attributes of an existing queue (FIFO-ness cannot change)."""
        current = await self.get(name)
        changes = rules.validate_attribute_changes(attributes)
        if isinstance(attributes.get("dead_letter"), Queue):
            changes["dead_letter"] = attributes["dead_letter"].name
        rules.check_own_dead_letter(name, changes.get("dead_letter"))
        await self._put(name, current.fifo, changes)
        return current

    async def names(self) -> list[str]:
        """Names of every queue in the store."""
        return [q.name for q in await self.rt.store.list_queues()]

    async def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a queue and all its messages.

        Refused (``QueueInUse``) while the queue is another queue's dead-letter target or
        used by this app's mappings, destinations or bus targets: later messages would go
        to rows no view shows. ``force`` first detaches it from its source queues.
        """
        sources = {
            q.name: q.attributes.fifo
            for q in await self.rt.store.list_queues()
            if q.attributes.dead_letter == name and q.name != name
        }
        uses = [f"dead-letter queue of {s!r}" for s in sources]
        uses += [use for users_of in self.users for use in users_of(name)]
        if uses and not force:
            if await self.rt.store.get_queue(name) is None:
                raise QueueDoesNotExist(name)
            raise QueueInUse(name, uses)
        for source, fifo in sources.items():
            await self._put(source, fifo, {"dead_letter": None})
        if not await self.rt.store.delete_queue(name):
            raise QueueDoesNotExist(name)
        self._attrs.pop(name, None)

    async def run_maintenance(self) -> None:
        """One pass: expire messages past retention, resume orphaned redrive tasks."""
        for stored in await self.rt.store.list_queues():
            await self.rt.store.expire(stored.name, stored.attributes.retention)
        await self.redrives.resume_orphans()
