"""Reading an experiment file (YAML or JSON) and scaling its times for a short run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stormproof.errors import InvalidAttribute, StormproofError
from stormproof.experiments.spec import Experiment, parse

MAX_FILE_BYTES = 1_000_000
# The keys whose values are seconds, wherever they appear: ``--time-scale`` multiplies them.
TIME_KEYS = frozenset(
    {"duration", "recovery", "window", "at", "every", "until", "start", "start_after"}
)


def read(path: str | Path) -> dict[str, Any]:
    """The decoded file: ``.json`` as JSON, anything else as YAML (a superset of JSON)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise StormproofError(f"cannot read experiment file {str(p)!r}: {exc}") from exc
    if len(text) > MAX_FILE_BYTES:
        raise InvalidAttribute("file", str(p), f"a file of at most {MAX_FILE_BYTES} bytes")
    data = _decode(p, text)
    if not isinstance(data, dict):
        raise InvalidAttribute("experiment", data, "a mapping at the top of the file")
    return data


def _decode(p: Path, text: str) -> Any:
    if p.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StormproofError(f"{p}: not valid JSON: {exc}") from exc
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError as exc:
        raise StormproofError("YAML experiment files need pip install 'stormproof[chaos]'") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StormproofError(f"{p}: not valid YAML: {exc}") from exc


def scaled(data: Any, factor: float) -> Any:
    """``data`` with every time value multiplied by ``factor`` (rates unchanged)."""
    if isinstance(data, dict):
        return {k: _scale_value(k, v, factor) for k, v in data.items()}
    if isinstance(data, list):
        return [scaled(x, factor) for x in data]
    return data


def _scale_value(key: str, value: Any, factor: float) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in TIME_KEYS and number:
        return value * factor
    return scaled(value, factor)


def load_experiment(
    path: str | Path, *, time_scale: float = 1.0, overrides: dict[str, Any] | None = None
) -> Experiment:
    """Read, scale (``time_scale`` from 0.001 to 1) and validate an experiment file;
    ``overrides`` replace top-level keys after scaling (tests shorten runs with them)."""
    if not 0.001 <= time_scale <= 1.0:
        raise InvalidAttribute("time_scale", time_scale, "a number from 0.001 to 1")
    data = scaled(read(path), time_scale) if time_scale != 1.0 else read(path)
    data.update(overrides or {})
    return parse(data)
