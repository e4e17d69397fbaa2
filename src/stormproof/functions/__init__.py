"""Functions with Lambda semantics: the registry, invocations, event-source mappings
and the runners that execute handlers."""

from stormproof.functions.function import Function

__all__ = ["Function"]
