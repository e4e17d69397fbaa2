"""An app's functions (``app.functions``): definitions, event-source mappings and the
global slot pools of reserved concurrency."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from stormproof.core import names
from stormproof.core import queue_rules as rules
from stormproof.core.idempotency import config as idempotency_config
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Concurrency
from stormproof.errors import FunctionNotFound, InvalidAttribute, QueueDoesNotExist
from stormproof.functions.function import NAME_RE, RETENTION, Function, validated_options
from stormproof.functions.mappings import EventSourceMapping, check_timeouts, define_mapping
from stormproof.functions.priority import priority_option
from stormproof.functions.runners import Handler
from stormproof.functions.shedding import shedding_options
from stormproof.functions.transactions import TransactionFunction, Transactions
from stormproof.queues.queue import Queue
from stormproof.queues.registry import QueueRegistry

log = logging.getLogger("stormproof.functions.registry")


class FunctionRegistry:
    """An app's functions (by name) and event-source mappings, and their slot pools."""

    def __init__(self, app: Runtime, queues: QueueRegistry) -> None:
        self.app = app
        self.queues = queues
        self.by_name: dict[str, Function] = {}
        self.mappings: list[EventSourceMapping] = []
        self.concurrency = Concurrency(lambda: app.store, lambda: app.clock, app.instance_id)
        self.transactions = Transactions(app, self.concurrency)
        queues.users.append(self.uses_of)

    def uses_of(self, queue: str) -> list[str]:
        """How this app's mappings and destinations use ``queue`` (refuses its deletion)."""
        uses = [
            f"mapping to function {m.function.name!r}"
            for m in self.mappings
            if queue in (m.queue, *m.priority)
        ]
        for fn in self:
            for field in ("on_success", "on_failure"):
                target = getattr(fn, field)
                if isinstance(target, Queue) and target.name == queue:
                    uses.append(f"{field} destination of function {fn.name!r}")
        return uses

    def __iter__(self) -> Any:
        return iter(list(self.by_name.values()))

    def get(self, name: str) -> Function:
        """The function of that name; raises ``FunctionNotFound`` (a ``LookupError``)."""
        try:
            return self.by_name[name]
        except KeyError:
            raise FunctionNotFound(name) from None

    def define(self, handler: Handler, name: str | None, **options: Any) -> Function:
        """Validate and register a function (see ``App.function``)."""
        if not callable(handler):
            raise InvalidAttribute("handler", handler, "a def or async def (event, context)")
        fn_name = name if name is not None else getattr(handler, "__name__", "")
        if not names.is_name(NAME_RE, fn_name):
            raise InvalidAttribute("name", fn_name, "1 to 64 letters, digits, '-' or '_'")
        if fn_name in self.by_name:
            raise InvalidAttribute("name", fn_name, "a name no other function of the app uses")
        idempotency = idempotency_config(options.pop("idempotency", None))
        options = validated_options(handler, options)
        fn = Function(self.app, handler, name=fn_name, pools=self.concurrency, **options)
        fn.idempotency = idempotency
        self.queues.declare(
            fn.queue_name,
            None,
            {
                "visibility_timeout": min(float(rules.MAX_VISIBILITY), fn.timeout + 30),
                "retention": RETENTION,
            },
        )
        self.by_name[fn_name] = fn
        return fn

    def decorator(self, name: Any, **options: Any) -> Any:
        """``@app.function`` with or without arguments."""
        if callable(name) and not isinstance(name, str):
            return self.define(name, None, **options)

        def wrap(handler: Handler) -> Function:
            return self.define(handler, name, **options)

        return wrap

    def consume(
        self, queue: Any, function: Function | TransactionFunction, **options: Any
    ) -> EventSourceMapping:
        """Validate and register an event-source mapping (see ``App.consume``)."""
        if not isinstance(function, Function | TransactionFunction):
            raise InvalidAttribute(
                "function", function, "a Function made by @app.function or @app.transaction"
            )
        queue, lower = priority_option(queue, options.pop("priority", None))
        name = queue.name if isinstance(queue, Queue) else queue
        names.refuse_reserved("queue", name)
        fifo = queue.fifo if isinstance(queue, Queue) else rules.validate_queue_name(queue, None)
        guards: dict[str, Any] = {k: options.pop(k, None) for k in ("breaker", "limit")}
        guards["priority"] = lower
        guards.update(shedding_options(options))
        mapping = dataclasses.replace(define_mapping(name, fifo, function, **options), **guards)
        if any(m.id == mapping.id for m in self.mappings):
            raise InvalidAttribute("queue", name, f"one mapping to {function.name!r} per queue")
        self.mappings.append(mapping)
        return mapping

    async def open(self) -> None:
        """Check each mapping's queue against its function's timeout (AWS's sizing rules)."""
        for mapping in self.mappings:
            for queue in (mapping.queue, *mapping.priority):
                try:
                    attrs = self.app.attributes_of(queue)
                except QueueDoesNotExist:
                    attrs = (await self.queues.get(queue)).attributes
                checked = dataclasses.replace(mapping, queue=queue)
                warning = check_timeouts(checked, attrs.visibility_timeout)
                if warning:
                    log.warning("event=config.warning %s", warning)

    async def close(self) -> None:
        """Give slots back and release every runner."""
        await self.concurrency.close()
        for fn in self:
            fn.close()
