"""Checks for the states that hold sub-machines: Parallel (branches) and Map (item processor).

Both delegate the sub-machines to a block checker passed in by ``validate``,
which keeps the recursion in one place and this module free of import cycles.
"""

from __future__ import annotations

from typing import Any, Protocol

from stormproof.core.asl.validate_fields import (
    check_exclusive,
    check_integer,
    check_number,
    check_object,
)
from stormproof.core.asl.validate_report import Scope, StateCtx, child, item
from stormproof.core.asl.validate_states import check_template
from stormproof.core.asl.validate_syntax import is_jsonata, label_problem, path_problem

# Fields AWS documents for Distributed mode only. ToleratedFailureCount/
# Percentage(+Path) are deliberately absent: AWS accepted them on an inline Map
# (stepfunctions/cases.json, test_base_map[TOLERATED_FAILURE_*]); see
# docs/deviations/asl-validation.md.
DISTRIBUTED_ONLY = ("ItemReader", "ItemBatcher", "ResultWriter", "Label")
_PROCESSOR_FIELDS = frozenset({"ProcessorConfig"})
_CONFIG_VALUES = {"Mode": ("INLINE", "DISTRIBUTED"), "ExecutionType": ("STANDARD", "EXPRESS")}
_MAP_PATHS = (
    "ItemsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
)


class BlockChecker(Protocol):
    """Checks one sub-machine (``StartAt`` + ``States``) found at ``path``."""

    def __call__(
        self, scope: Scope, path: str, block: Any, jsonata: bool, extra: frozenset[str]
    ) -> None:
        """Record the problems of ``block``; ``extra`` are fields allowed besides the usual."""


def check_parallel(ctx: StateCtx, check_block: BlockChecker) -> None:
    """Parallel: a non-empty ``Branches`` array, each branch checked as a machine."""
    branches = ctx.state.get("Branches")
    if not ctx.has("Branches"):
        ctx.scope.add(ctx.path, "field 'Branches' is required in a Parallel state")
    elif not isinstance(branches, list) or not branches:
        ctx.add("Branches", "Branches must be a non-empty array")
    else:
        for index, branch in enumerate(branches):
            path = item(ctx.at("Branches"), index)
            check_block(ctx.scope, path, branch, ctx.jsonata, frozenset())


def _check_config(scope: Scope, path: str, config: Any) -> str:
    """Check ``ProcessorConfig`` and return the processing mode it selects."""
    if not isinstance(config, dict):
        scope.add(path, "ProcessorConfig must be an object")
        return "INLINE"
    for name, value in config.items():
        allowed = _CONFIG_VALUES.get(name)
        if allowed is None:
            scope.add(child(path, name), f"field '{name}' is not supported in ProcessorConfig")
        elif value not in allowed:
            scope.add(child(path, name), f"{name} must be one of {', '.join(allowed)}")
    mode = config.get("Mode", "INLINE")
    if mode == "DISTRIBUTED" and "ExecutionType" not in config:
        scope.add(path, "ExecutionType is required when Mode is DISTRIBUTED")
    return mode if isinstance(mode, str) else "INLINE"


def _check_processor(ctx: StateCtx, check_block: BlockChecker) -> str:
    """Check ``ItemProcessor`` (or the older ``Iterator``); return the Map's mode."""
    check_exclusive(ctx, "ItemProcessor", "Iterator")
    name = "ItemProcessor" if ctx.has("ItemProcessor") else "Iterator"
    if not ctx.has(name):
        ctx.scope.add(ctx.path, "field 'ItemProcessor' is required in a Map state")
        return "INLINE"
    processor = ctx.state[name]
    mode = "INLINE"
    if isinstance(processor, dict) and "ProcessorConfig" in processor:
        config_path = child(ctx.at(name), "ProcessorConfig")
        mode = _check_config(ctx.scope, config_path, processor["ProcessorConfig"])
    check_block(ctx.scope, ctx.at(name), processor, ctx.jsonata, _PROCESSOR_FIELDS)
    return mode


def _check_distributed_fields(ctx: StateCtx, mode: str) -> None:
    for name in DISTRIBUTED_ONLY:
        if ctx.has(name) and mode != "DISTRIBUTED":
            ctx.add(name, f"field '{name}' is only supported by a Map in DISTRIBUTED mode")
    if ctx.has("Label"):
        problem = label_problem(ctx.state["Label"])
        if problem:
            ctx.add("Label", f"Label {problem}")
    if check_object(ctx, "ItemReader") and "Resource" not in ctx.state["ItemReader"]:
        ctx.add("ItemReader", "field 'Resource' is required in ItemReader")
    check_object(ctx, "ItemBatcher")
    check_object(ctx, "ResultWriter")
    for name, key in (("ItemReader", "Parameters"), ("ItemBatcher", "BatchInput")):
        block = ctx.state.get(name)
        if not ctx.jsonata and isinstance(block, dict) and isinstance(block.get(key), dict):
            check_template(ctx.scope, child(ctx.at(name), key), block[key])


def check_map(ctx: StateCtx, check_block: BlockChecker) -> None:
    """Map: item processor, item selection, concurrency and failure tolerance."""
    mode = _check_processor(ctx, check_block)
    _check_distributed_fields(ctx, mode)
    check_exclusive(ctx, "ItemSelector", "Parameters")
    for name in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
        check_exclusive(ctx, name, f"{name}Path")
    check_integer(ctx, "MaxConcurrency", 0)
    check_integer(ctx, "ToleratedFailureCount", 0)
    check_number(ctx, "ToleratedFailurePercentage", 0, 100)
    for name in _MAP_PATHS:
        if ctx.has(name):
            problem = path_problem(ctx.state[name])
            if problem:
                ctx.add(name, f"{name} {problem}")
    if check_object(ctx, "ItemSelector", jsonata_ok=ctx.jsonata) and not ctx.jsonata:
        check_template(ctx.scope, ctx.at("ItemSelector"), ctx.state["ItemSelector"])
    items = ctx.state.get("Items")
    if ctx.has("Items") and not (isinstance(items, list) or is_jsonata(items)):
        ctx.add("Items", "Items must be an array or a JSONata expression {% ... %}")
