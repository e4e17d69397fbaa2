"""Task ``Resource`` strings checked when an app opens, not when a task first runs.

A ``Resource`` must name an integration stormproof runs (see
:mod:`stormproof.machines.integrations`), a key of the machine's ``resources``, or a
function of the app (by name or Lambda ARN), optionally with ``.waitForTaskToken``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stormproof.machines.integrations import (
    LAMBDA_INVOKE,
    PUT_EVENTS,
    SQS_SEND,
    START_EXECUTION,
    WAIT_TOKEN,
)
from stormproof.machines.transaction_tasks import SQL_EXECUTE

INTEGRATIONS = (LAMBDA_INVOKE, PUT_EVENTS, SQS_SEND, SQL_EXECUTE)


def task_resources(block: Mapping[str, Any], path: str = "$") -> Iterator[tuple[str, str]]:
    """``(json_path, resource)`` of every Task state, nested branches and Maps included."""
    for name, state in (block.get("States") or {}).items():
        here = f"{path}.States.{name}"
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
            yield f"{here}.Resource", state["Resource"]
        for i, branch in enumerate(state.get("Branches") or []):
            yield from task_resources(branch, f"{here}.Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from task_resources(state[key], f"{here}.{key}")


def unknown_resources(
    definition: Mapping[str, Any], resources: Mapping[str, Any], is_function: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """Problems (path, message) for Task resources that name nothing this app runs."""
    problems = []
    for path, resource in task_resources(definition):
        base = resource.removesuffix(WAIT_TOKEN)
        if base in INTEGRATIONS or base.startswith(START_EXECUTION) or base in resources:
            continue
        short = base.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in base else base
        if short in resources or is_function(short):
            continue
        problems.append(
            (path, f"Resource {resource!r} names no function, integration or resource of the app")
        )
    return problems
