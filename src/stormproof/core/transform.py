"""EventBridge target input shaping: ``input``, ``input_path``, ``input_transformer``.

A target delivers one of (spec §3.3):

* nothing configured: the whole event, as compact JSON;
* ``input``: a constant JSON text, whatever the event;
* ``input_path``: the part of the event a path selects (see ``eventpath``);
* ``input_transformer``: ``input_template`` with ``<var>`` placeholders filled
  from ``input_paths_map`` (≤ 100 variables) and the predefined ``aws.events.*``
  variables.

``TargetInput.build`` validates when the target is defined (``InvalidAttribute``
names the field); ``TargetInput.render`` returns the body to deliver, or
``None`` when nothing is delivered.

How placeholders are filled, as recorded against AWS
(``conformance/eventbridge/input_transformers.json``):

* A template whose first non-blank character is ``"`` is a *string template*.
  Every value is inserted as text: strings as they are, other values as
  compact JSON with their double quotes removed (``{acc_id:x,sf_id:y}``,
  ``[HIGH]``, ``true``). Each non-blank line must be a JSON value.
* Any other template is a *JSON template*. A placeholder outside a string is
  replaced by the value: strings get quotes around them, other values become
  compact JSON. Inside a string, strings are inserted as they are and other
  values as compact JSON, quotes included.
* Values are **not escaped**, so a value can break the JSON. A rendered JSON
  template that is not valid JSON is not delivered (``None``): for instance an
  object placed inside a string.
* A path that selects nothing creates no variable: its placeholder becomes
  ``""`` outside a string and nothing inside one.
* Rejected at definition: a placeholder that is neither in ``input_paths_map``
  nor predefined; a placeholder used as an object key; ``aws.events.event`` or
  ``aws.events.event.json`` anywhere but as a JSON value outside a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from stormproof.core.eventpath import MISSING, EventPath
from stormproof.errors import InvalidAttribute

MAX_INPUT_LENGTH: Final = 8192
MAX_TEMPLATE_LENGTH: Final = 8192
MAX_PATHS: Final = 100
MAX_KEY_LENGTH: Final = 256

RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
PREDEFINED: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})
_WHOLE_EVENT_VARS: Final = frozenset({EVENT, EVENT_JSON})

_KEY = re.compile(r"[A-Za-z0-9_\-]+")
# Placeholder names: map keys, plus dots for the predefined aws.events.* names.
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


@dataclass(frozen=True)
class InputTransformer:
    """AWS's ``InputTransformer``: a template and the variables it may use."""

    input_template: str
    input_paths_map: Mapping[str, str] | None = None

    @classmethod
    def from_aws(cls, spec: Mapping[str, Any]) -> InputTransformer:
        """From AWS's shape: ``{"InputPathsMap": {...}, "InputTemplate": "..."}``."""
        return cls(spec.get("InputTemplate", ""), spec.get("InputPathsMap"))


@dataclass(frozen=True)
class _Placeholder:
    name: str
    start: int
    end: int
    in_string: bool


@dataclass(frozen=True)
class _Template:
    text: str
    string_template: bool
    placeholders: tuple[_Placeholder, ...]
    paths: tuple[tuple[str, EventPath], ...]


@dataclass(frozen=True)
class TargetInput:
    """How one target shapes its input; build with ``TargetInput.build``."""

    constant: str | None = None
    path: EventPath | None = None
    template: _Template | None = None

    @classmethod
    def build(
        cls,
        input: str | None = None,
        input_path: str | None = None,
        input_transformer: InputTransformer | Mapping[str, Any] | None = None,
    ) -> TargetInput:
        """Validate a target's input settings; raise ``InvalidAttribute`` naming the field."""
        given = [
            (name, value)
            for name, value in (
                ("input", input),
                ("input_path", input_path),
                ("input_transformer", input_transformer),
            )
            if value is not None
        ]
        if len(given) > 1:
            name, value = given[-1]
            raise InvalidAttribute(
                name, value, "only one of input, input_path or input_transformer per target"
            )
        if input is not None:
            return cls(constant=_check_constant(input))
        if input_path is not None:
            return cls(path=EventPath.parse(input_path, field="input_path"))
        if input_transformer is not None:
            if not isinstance(input_transformer, InputTransformer):
                input_transformer = InputTransformer.from_aws(input_transformer)
            return cls(template=_compile(input_transformer))
        return cls()

    def render(
        self,
        event: Mapping[str, Any],
        *,
        rule_arn: str,
        rule_name: str,
        ingestion_time: datetime,
    ) -> str | None:
        """The body delivered to the target for ``event``; ``None`` = not delivered."""
        if self.constant is not None:
            return self.constant
        if self.path is not None:
            value = self.path.resolve(event)
            # A path that selects nothing has nothing to deliver (AWS's answer is unrecorded).
            return None if value is MISSING else _compact(value)
        if self.template is not None:
            predefined = _predefined(event, rule_arn, rule_name, ingestion_time)
            return _render(self.template, event, predefined)
        return _compact(event)


def _check_constant(text: str) -> str:
    allowed = f"a JSON text of at most {MAX_INPUT_LENGTH} characters"
    if not isinstance(text, str) or len(text) > MAX_INPUT_LENGTH or not _is_json(text):
        raise InvalidAttribute("input", text, allowed)
    return text


def _compile(spec: InputTransformer) -> _Template:
    text = spec.input_template
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEMPLATE_LENGTH:
        raise InvalidAttribute(
            "input_template", text, f"a string of 1 to {MAX_TEMPLATE_LENGTH} characters"
        )
    paths = _compile_paths(spec.input_paths_map or {})
    _refuse_unclosed(text, {name for name, _ in paths})
    string_template = text.lstrip().startswith('"')
    placeholders = _scan(text)
    defined = {name for name, _ in paths} | PREDEFINED
    for placeholder in placeholders:
        _check_placeholder(text, placeholder, defined, string_template)
    return _Template(text, string_template, placeholders, paths)


_OPEN = re.compile(r"<([A-Za-z0-9_.\-]+)(?![A-Za-z0-9_.\-]*>)")


def _refuse_unclosed(text: str, variables: set[str]) -> None:
    """An ``<name`` left open (no ``>``) would render as text and never as its value."""
    for found in _OPEN.finditer(text):
        name = found.group(1)
        if name in variables or name.startswith("aws.events."):
            raise InvalidAttribute("input_template", text, f"<{name}> closed with '>'")


def _compile_paths(paths_map: Mapping[str, str]) -> tuple[tuple[str, EventPath], ...]:
    if not isinstance(paths_map, Mapping) or len(paths_map) > MAX_PATHS:
        raise InvalidAttribute(
            "input_paths_map", paths_map, f"a mapping of at most {MAX_PATHS} variables"
        )
    compiled = []
    for key, path in paths_map.items():
        if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
            raise InvalidAttribute(
                "input_paths_map",
                key,
                f"variable names of 1 to {MAX_KEY_LENGTH} characters from A-Z a-z 0-9 _ -",
            )
        compiled.append((key, EventPath.parse(path, field="input_paths_map")))
    return tuple(compiled)


def _scan(text: str) -> tuple[_Placeholder, ...]:
    """Find placeholders, noting whether each sits inside a JSON string literal."""
    found = []
    in_string = False
    pos = 0
    while pos < len(text):
        match = _PLACEHOLDER.match(text, pos) if text[pos] == "<" else None
        if match is not None:
            found.append(_Placeholder(match.group(1), pos, match.end(), in_string))
            pos = match.end()
            continue
        if in_string and text[pos] == "\\":
            pos += 2  # an escaped character never opens or closes a string
            continue
        if text[pos] == '"':
            in_string = not in_string
        pos += 1
    return tuple(found)


def _check_placeholder(
    text: str, placeholder: _Placeholder, defined: set[str], string_template: bool
) -> None:
    shown = f"<{placeholder.name}>"
    if placeholder.name not in defined:
        raise InvalidAttribute(
            "input_template", shown, "placeholders named in input_paths_map or aws.events.*"
        )
    if not string_template and _is_object_key(text, placeholder):
        raise InvalidAttribute("input_template", shown, "placeholders as values, not object keys")
    whole_event = placeholder.name in _WHOLE_EVENT_VARS
    if whole_event and (string_template or placeholder.in_string):
        raise InvalidAttribute(
            "input_template", shown, f"{placeholder.name} only as a JSON value outside strings"
        )


def _is_object_key(text: str, placeholder: _Placeholder) -> bool:
    pos = placeholder.end
    if placeholder.in_string:
        pos = _string_end(text, pos)
    return text[pos:].lstrip().startswith(":")


def _string_end(text: str, pos: int) -> int:
    """The index just after the closing quote of the string that contains ``pos``."""
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == '"':
            return pos + 1
        pos += 1
    return pos


def _predefined(
    event: Mapping[str, Any], rule_arn: str, rule_name: str, ingestion_time: datetime
) -> dict[str, Any]:
    utc = ingestion_time.replace(tzinfo=UTC) if ingestion_time.tzinfo is None else ingestion_time
    return {
        RULE_ARN: rule_arn,
        RULE_NAME: rule_name,
        INGESTION_TIME: utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Recorded: the event without detail, with detail-type spelled detailType.
        EVENT: {
            ("detailType" if key == "detail-type" else key): value
            for key, value in event.items()
            if key != "detail"
        },
        EVENT_JSON: dict(event),
    }


def _render(
    template: _Template, event: Mapping[str, Any], predefined: dict[str, Any]
) -> str | None:
    values = {name: path.resolve(event) for name, path in template.paths} | predefined
    parts = []
    pos = 0
    for placeholder in template.placeholders:
        parts.append(template.text[pos : placeholder.start])
        value = values.get(placeholder.name, MISSING)
        parts.append(_fill(value, template.string_template, placeholder.in_string))
        pos = placeholder.end
    parts.append(template.text[pos:])
    rendered = "".join(parts)
    if template.string_template:
        # Recorded: a multi-line string template is delivered line by line as written.
        valid = all(_is_json(line) for line in rendered.splitlines() if line.strip())
    else:
        valid = _is_json(rendered)
    return rendered if valid else None


def _fill(value: Any, string_template: bool, in_string: bool) -> str:
    as_text = string_template or in_string
    if value is MISSING:
        return "" if as_text else '""'
    if isinstance(value, str):
        # Not escaped: AWS inserts the characters as they are, quotes added outside strings.
        return value if as_text else f'"{value}"'
    text = _compact(value)
    return text.replace('"', "") if string_template else text


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_json(text: str) -> bool:
    try:
        # NaN and Infinity are Python extensions, not JSON.
        json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return False
    return True
