"""The options of ``app.consume``: which ones each kind of mapping reads, and their defaults.

``app.consume`` takes one set of keyword options for two mappings: a queue's (Lambda's SQS
event-source mapping) and a stream's (Lambda's Kinesis mapping). Options not passed are
``UNSET``, so each mapping applies its own defaults (batch_size 10 on a queue, 100 on a
stream).
"""

from __future__ import annotations

from typing import Any

from stormproof.core.unset import UNSET, or_default, passed, seconds
from stormproof.engine.breaker_registry import BreakerRegistry
from stormproof.errors import InvalidAttribute
from stormproof.functions.function import Function
from stormproof.functions.mappings import EventSourceMapping
from stormproof.functions.registry import FunctionRegistry
from stormproof.functions.stream_mappings import StreamMapping, define_stream_mapping
from stormproof.functions.transactions import TransactionFunction
from stormproof.streams.stream import Stream

#: The queue-mapping options a stream mapping also reads (the rest are ignored there).
STREAM_SHARED = ("batch_size", "batch_window", "filter", "report_batch_item_failures")
#: Queue-mapping defaults of the options whose ``None`` means something.
QUEUE_DEFAULTS = {
    "batch_size": 10,
    "batch_window": 0,
    "report_batch_item_failures": False,
    "filter": None,
}


def consume(
    functions: FunctionRegistry,
    breakers: BreakerRegistry,
    streams: list[StreamMapping],
    options: dict[str, Any],
) -> EventSourceMapping | StreamMapping:
    """The mapping of ``app.consume``'s parameters (``options``, by name), registered."""
    queue, function = options.pop("queue"), options.pop("function")
    stream_options: dict[str, Any] = options.pop("stream_options")
    if isinstance(queue, Stream):
        mapping = _stream_mapping(queue, function, options, stream_options)
        streams.append(mapping)
        return mapping
    if stream_options:
        raise InvalidAttribute("options", sorted(stream_options), "stream options on a stream")
    return functions.consume(queue, function, **queue_options(breakers, options))


def queue_options(breakers: BreakerRegistry, options: dict[str, Any]) -> dict[str, Any]:
    """A queue mapping's options: defaults for those not passed, a breaker named by its
    name resolved, ``max_message_age`` in seconds."""
    given = {k: or_default(v, QUEUE_DEFAULTS.get(k)) for k, v in options.items()}
    if isinstance(given["breaker"], str):
        given["breaker"] = breakers.get(given["breaker"])
    if given["max_message_age"] is not None:
        given["max_message_age"] = seconds(given["max_message_age"])
    return given


def _stream_mapping(
    stream: Stream,
    function: Function | TransactionFunction,
    options: dict[str, Any],
    stream_options: dict[str, Any],
) -> StreamMapping:
    """Lambda's Kinesis mapping: only the options passed override the stream defaults."""
    if not isinstance(function, Function):
        raise InvalidAttribute("function", function, "a Function for a stream mapping")
    shared = passed({k: options.get(k, UNSET) for k in STREAM_SHARED})
    return define_stream_mapping(stream, function, **shared, **stream_options)
