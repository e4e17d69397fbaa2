"""State machines with Step Functions semantics: definitions, durable executions, steps,
child executions and task integrations."""

from stormproof.machines.definitions import StateMachine, load_definition, validate

__all__ = ["StateMachine", "load_definition", "validate"]
