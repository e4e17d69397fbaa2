"""What each Map iteration receives: ItemSelector (or legacy Parameters) and ItemBatcher.

The selector sees the Map's effective input as ``$`` and the item as
``$$.Map.Item.Value`` / ``$$.Map.Item.Index``. A DISTRIBUTED Map with an
``ItemBatcher`` groups the selected items into ``{"Items": [...]}`` batches,
plus ``BatchInput`` when given.
"""

from __future__ import annotations

from typing import Any

from stormproof.core.asl import json_text, jsonata_mode, jsonpath_io, state_io
from stormproof.core.asl.run_context import Env, Frame, Run


def child_inputs(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, effective: Any, items: list[Any]
) -> list[Any]:
    """The input of every iteration (or batch), in order."""
    selected = [
        _select(run, frame, state, env, effective, index, value)
        for index, value in enumerate(items)
    ]
    batcher = state.get("ItemBatcher")
    if not isinstance(batcher, dict):
        return selected
    return _batches(run, frame, state, env, batcher, selected)


def _select(
    run: Run, frame: Frame, state: dict[str, Any], env: Env, effective: Any, index: int, value: Any
) -> Any:
    template = state.get("ItemSelector", state.get("Parameters"))
    if template is None:
        return value
    item = {"Index": index, "Value": value}
    if state_io.is_jsonata(run, state):
        binds = state_io.bindings(run, frame, env)
        binds["states"]["context"]["Map"] = {"Item": item}
        return jsonata_mode.evaluate_template(template, "ItemSelector", binds, run.rng)
    sc = state_io.scope(run, frame, env, effective)
    sc.context = {**sc.context, "Map": {"Item": item}}
    return jsonpath_io.payload(template, sc)


def _batches(
    run: Run,
    frame: Frame,
    state: dict[str, Any],
    env: Env,
    batcher: dict[str, Any],
    selected: list[Any],
) -> list[Any]:
    max_items = int(batcher.get("MaxItemsPerBatch", 0) or 0)
    max_bytes = int(batcher.get("MaxInputBytesPerBatch", 0) or 0)
    batch_input = batcher.get("BatchInput")
    if batch_input is not None and state_io.is_jsonata(run, state):
        batch_input = state_io.evaluate(run, frame, env, batch_input, "BatchInput")
    batches: list[list[Any]] = []
    for value in selected:
        current = batches[-1] if batches else None
        if current is None or _full(current, value, max_items, max_bytes):
            batches.append([value])
        else:
            current.append(value)
    out: list[Any] = []
    for batch in batches:
        entry: dict[str, Any] = {"Items": batch}
        if batch_input is not None:
            entry["BatchInput"] = batch_input
        out.append(entry)
    return out


def _full(batch: list[Any], value: Any, max_items: int, max_bytes: int) -> bool:
    if max_items and len(batch) >= max_items:
        return True
    if max_bytes:
        size = len(json_text.dumps({"Items": [*batch, value]}).encode())
        return size > max_bytes
    return False
