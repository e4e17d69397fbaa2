"""Light syntax checks for the small languages inside a definition.

JSONPath, intrinsic function calls, RFC 3339 timestamps, JSONata markers and
Map labels are checked for shape only. The interpreter does the real parsing
at run time; here we only want to refuse what AWS refuses at creation time
("must be a valid JSONPath or a valid intrinsic function call").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

INTRINSIC_FUNCTIONS = frozenset(
    {
        "States.Format",
        "States.StringToJson",
        "States.JsonToString",
        "States.Array",
        "States.ArrayPartition",
        "States.ArrayContains",
        "States.ArrayRange",
        "States.ArrayGetItem",
        "States.ArrayLength",
        "States.ArrayUnique",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.JsonMerge",
        "States.MathRandom",
        "States.MathAdd",
        "States.StringSplit",
        "States.UUID",
    }
)
# AWS documents at most 10 nested calls per field.
MAX_INTRINSIC_NESTING = 10

_VARIABLE_ROOT = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_FUNCTION_NAME = re.compile(r"States\.[A-Za-z0-9]+")
_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))"
)
# Reference paths name exactly one node, so selectors that fan out are refused.
_FAN_OUT = ("*", "..", "[?", ":", ",")
# Characters AWS forbids in Map labels besides whitespace and control codes.
_LABEL_PUNCTUATION = frozenset(' ?*<>{}[]:;,\\|^~$#%&`"/')
MAX_LABEL_LENGTH = 40


def is_jsonata(value: Any) -> bool:
    """Whether ``value`` is a JSONata expression string (``{% ... %}``)."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _brackets_balanced(text: str) -> bool:
    """Whether ``[]`` and ``()`` nest properly outside quoted names."""
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def path_problem(text: Any, *, reference: bool = False) -> str | None:
    """Why ``text`` is not a JSONPath (or reference path), or ``None`` if it looks valid.

    Roots are ``$`` (the input), ``$$`` (the context object) and ``$name`` (a
    variable). A reference path (``ResultPath``) must start at ``$`` and name a
    single node.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        return "must be a JSONPath starting with '$'"
    if text.startswith("$$"):
        rest = text[2:]
    else:
        root = _VARIABLE_ROOT.match(text)
        rest = text[root.end() :] if root else text[1:]
    if rest and rest[0] not in ".[":
        return "is not a valid JSONPath"
    if rest.endswith(".") or not _brackets_balanced(rest):
        return "is not a valid JSONPath"
    if reference:
        if text.startswith("$$") or rest != text[1:]:
            return "must be a reference path rooted at '$'"
        if any(token in rest for token in _FAN_OUT):
            return "must be a reference path (names and indexes only)"
    return None


class _Unparsable(Exception):
    """Raised inside the intrinsic parser; the message says what is wrong."""


class _IntrinsicParser:
    """Recursive-descent recogniser for ``States.Fn(arg, ...)`` calls."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> None:
        """Recognise one call spanning the whole text, or raise ``_Unparsable``."""
        self._call(1)
        self._skip_spaces()
        if self.pos != len(self.text):
            raise _Unparsable("has text after the closing parenthesis")

    def _skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _call(self, depth: int) -> None:
        if depth > MAX_INTRINSIC_NESTING:
            raise _Unparsable(f"nests more than {MAX_INTRINSIC_NESTING} intrinsic functions")
        name = _FUNCTION_NAME.match(self.text, self.pos)
        if name is None:
            raise _Unparsable("is not a valid intrinsic function call")
        if name.group() not in INTRINSIC_FUNCTIONS:
            raise _Unparsable(f"uses unknown intrinsic function {name.group()}")
        self.pos = name.end()
        self._skip_spaces()
        if self._peek() != "(":
            raise _Unparsable(f"lacks '(' after {name.group()}")
        self.pos += 1
        self._skip_spaces()
        if self._peek() == ")":
            self.pos += 1
            return
        while True:
            self._argument(depth)
            self._skip_spaces()
            separator = self._peek()
            self.pos += 1
            if separator == ")":
                return
            if separator != ",":
                raise _Unparsable("has an argument list that is not closed")
            self._skip_spaces()

    def _argument(self, depth: int) -> None:
        char = self._peek()
        if char == "'":
            self._string()
        elif char == "$":
            self._path()
        elif self.text.startswith("States.", self.pos):
            self._call(depth + 1)
        else:
            literal = _LITERAL.match(self.text, self.pos)
            if literal is None:
                raise _Unparsable("has an argument that is not a literal, path or call")
            self.pos = literal.end()

    def _string(self) -> None:
        # Only \' \{ \} and \\ are escapes in intrinsic string literals; AWS
        # refuses anything else (e.g. \") when the machine is created.
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped not in ("'", "{", "}", "\\"):
                    raise _Unparsable(f"has an illegal escape sequence \\{escaped}")
                self.pos += 2
                continue
            self.pos += 1
            if char == "'":
                return
        raise _Unparsable("has an unterminated string literal")

    def _path(self) -> None:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])" and depth > 0:
                depth -= 1
            elif char in ",)":
                break
            self.pos += 1
        problem = path_problem(self.text[start : self.pos].rstrip())
        if problem:
            raise _Unparsable(f"has an argument that {problem}")


def intrinsic_problem(text: str) -> str | None:
    """Why ``text`` is not a well-formed intrinsic function call, or ``None``."""
    try:
        _IntrinsicParser(text).parse()
    except _Unparsable as exc:
        return str(exc)
    return None


def path_or_intrinsic_problem(text: Any) -> str | None:
    """Check a ``.$`` value (or ``ErrorPath``/``CausePath``): a path or an intrinsic call."""
    if isinstance(text, str) and text.startswith("States."):
        return intrinsic_problem(text)
    if path_problem(text) is None:
        return None
    return "must be a valid JSONPath or a valid intrinsic function call"


def is_rfc3339(text: Any) -> bool:
    """Whether ``text`` is an RFC 3339 date-time with an uppercase ``T`` and a zone."""
    if not isinstance(text, str):
        return False
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if match.group(9) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def label_problem(label: Any) -> str | None:
    """Why ``label`` is not an acceptable Map ``Label``, or ``None``."""
    if not isinstance(label, str):
        return "must be a string"
    if not label:
        return "must not be empty"
    if len(label) > MAX_LABEL_LENGTH:
        return f"must be at most {MAX_LABEL_LENGTH} characters"
    for char in label:
        code = ord(char)
        if char in _LABEL_PUNCTUATION or char.isspace() or code < 0x20 or 0x7F <= code <= 0x9F:
            return f"contains a character that is not allowed: {char!r}"
    return None
