"""State machines: declared with ``app.state_machine(...)``, validated when defined.

A definition is a dict, its JSON text, or a path to a ``.json`` file. It is validated at
once (:func:`validate`, every problem with its JSON path) and stored with each execution
it starts, so redeploying a machine never changes a running execution.

``resources`` maps ``Resource`` strings to functions: a stormproof ``Function`` (run with
``await fn.invoke(input)``, under its timeout and reserved concurrency) or any callable
taking the task input (``def`` runs in a thread, ``async def`` on the loop). A bare
``Resource`` naming a registered function works without an entry.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stormproof.core import json_limits, names
from stormproof.core.asl.validate import validate as _validate
from stormproof.errors import InvalidAttribute, InvalidDefinition
from stormproof.machines.records import DEFAULT_ROLE_ARN, machine_arn

__all__ = ["MachineRegistry", "StateMachine", "load_definition", "validate"]

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
TYPES = ("STANDARD", "EXPRESS")


def load_definition(definition: Any) -> dict[str, Any]:
    """A definition as a dict, from a mapping, JSON text or a path to a JSON file."""
    if isinstance(definition, Mapping):
        if json_limits.depth_over(definition):  # deepcopy recurses
            raise InvalidDefinition([("$", f"nests more than {json_limits.MAX_DEPTH} levels")])
        return copy.deepcopy(dict(definition))
    text = definition
    if isinstance(definition, Path) or (
        isinstance(definition, str) and not definition.lstrip().startswith("{")
    ):
        try:
            text = Path(definition).read_text(encoding="utf-8")
        except FileNotFoundError:
            found = Path(definition).absolute()
            raise InvalidDefinition([("$", f"no definition file at {found}")]) from None
        except (OSError, ValueError) as exc:
            # ValueError: a NUL in the path, or a file that is not UTF-8 text.
            raise InvalidDefinition([("$", f"cannot read the definition file: {exc}")]) from None
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDefinition([("$", f"the definition is not UTF-8 text: {exc}")]) from None
    if not isinstance(text, str):
        raise InvalidDefinition([("$", "a definition must be a JSON object, its text or a path")])
    _validate(text)  # reports JSON syntax errors and duplicate keys with their paths
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def relative_to(definition: Any, module_file: str | None) -> Any:
    """A relative definition path resolved against the declaring module's folder (the
    current directory when unknown, e.g. at a REPL, or when only it has the file);
    anything else as given."""
    is_path = isinstance(definition, Path) or (
        isinstance(definition, str) and not definition.lstrip().startswith("{")
    )
    if not is_path or module_file is None or Path(definition).is_absolute():
        return definition
    beside = Path(module_file).resolve().parent / definition
    # A file only the current directory has keeps working (how paths resolved before).
    return definition if not beside.exists() and Path(definition).exists() else beside


def validate(definition: Any, *, machine_type: str = "STANDARD") -> None:
    """Raise :class:`~stormproof.errors.InvalidDefinition` listing every problem.

    ``definition`` is a dict, JSON text or a path; ``problems`` holds
    ``(json_path, message)`` pairs, all of them at once.
    """
    if isinstance(definition, str | bytes) and str(definition).lstrip().startswith("{"):
        _validate(definition, machine_type=machine_type)
        return
    _validate(load_definition(definition), machine_type=machine_type)


def check_name(field_name: str, name: Any) -> str:
    """A machine or execution name: 1-80 letters, digits, '-' or '_'."""
    if not names.is_name(NAME_RE, name):
        raise InvalidAttribute(field_name, name, "1-80 letters, digits, '-' or '_'")
    return str(name)


class ExecutionStarter(Protocol):
    """What a machine needs to start its executions (the app's execution manager)."""

    async def start_execution(
        self, machine: str, input: Any = None, name: str | None = None, *, parent: str | None = None
    ) -> str:
        """Start an execution; returns its ARN."""
        ...


@dataclass
class StateMachine:
    """A declared state machine: its definition, type and task resources."""

    starter: ExecutionStarter | None
    name: str
    definition: dict[str, Any]
    type: str = "STANDARD"
    resources: dict[str, Any] = field(default_factory=dict)
    role_arn: str = DEFAULT_ROLE_ARN

    @property
    def arn(self) -> str:
        """The state machine's ARN."""
        return machine_arn(self.name)

    @property
    def definition_text(self) -> str:
        """The definition as compact JSON text (what each execution stores)."""
        return json.dumps(self.definition, separators=(",", ":"), ensure_ascii=False)

    async def start(self, input: Any = None, name: str | None = None) -> str:
        """Start an execution of this machine; returns its ARN."""
        if self.starter is None:
            raise InvalidAttribute("machine", self.name, "a state machine declared on an app")
        return await self.starter.start_execution(self.name, input, name=name)


class MachineRegistry:
    """The state machines an app declares, by name."""

    def __init__(self, starter: ExecutionStarter | None) -> None:
        self.starter = starter
        self._machines: dict[str, StateMachine] = {}

    def __iter__(self) -> Iterator[StateMachine]:
        return iter(list(self._machines.values()))

    def __len__(self) -> int:
        return len(self._machines)

    def get(self, name: str) -> StateMachine | None:
        """A declared machine, or None."""
        return self._machines.get(name)

    def define(
        self,
        name: str,
        definition: Any,
        *,
        resources: Mapping[str, Any] | None = None,
        type: str = "STANDARD",
        role_arn: str = DEFAULT_ROLE_ARN,
    ) -> StateMachine:
        """Declare (or redeclare) a machine; raises InvalidDefinition before storing anything."""
        check_name("name", name)
        if type not in TYPES:
            raise InvalidAttribute("type", type, " or ".join(TYPES))
        loaded = load_definition(definition)
        _validate(loaded, machine_type=type)
        problems = list(unsupported_fields(loaded))
        if problems:
            raise InvalidDefinition(problems)
        table = dict(resources or {})
        for key, value in table.items():
            if not isinstance(key, str) or not callable(value):
                raise InvalidAttribute(f"resources[{key!r}]", value, "a Function or a callable")
        machine = StateMachine(self.starter, name, loaded, type, table, role_arn)
        self._machines[name] = machine
        return machine


#: Valid ASL that stormproof cannot run, with the reason (both read or write Amazon S3).
UNSUPPORTED = {
    "ItemReader": "not supported by stormproof (it reads items from S3): pass the items "
    "in the state input (ItemsPath or Items)",
    "ResultWriter": "not supported by stormproof (it writes results to S3): the Map's "
    "results are its output",
}


def unsupported_fields(block: dict[str, Any], path: str = "$") -> Iterator[tuple[str, str]]:
    """``(json_path, message)`` for every field of a valid definition stormproof cannot run."""
    for name, state in (block.get("States") or {}).items():
        here = f"{path}.States.{name}"
        for key, reason in UNSUPPORTED.items():
            if key in state:
                yield f"{here}.{key}", reason
        for i, branch in enumerate(state.get("Branches") or []):
            yield from unsupported_fields(branch, f"{here}.Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from unsupported_fields(state[key], f"{here}.{key}")
