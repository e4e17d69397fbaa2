"""Conformance: ASL definitions that AWS accepted or rejected, driven through ``validate``.

Vectors: ``tests/conformance/vectors/asl_validation/cases.json`` (122 verdicts from
CreateStateMachine / ValidateStateMachineDefinition) and, as further accepted
definitions, every definition in ``tests/conformance/vectors/stepfunctions/cases.json``.
Cases we do not pass are listed in ``docs/deviations/asl-validation.md`` and in
``DEVIATIONS`` below, and run as strict xfails.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from stormproof.core.asl.validate import find_problems, validate
from stormproof.errors import InvalidDefinition
from tests.conformance import VECTORS

CONFORMANCE = VECTORS
CASES_FILE = CONFORMANCE / "asl_validation" / "cases.json"
EXECUTIONS_FILE = CONFORMANCE / "stepfunctions" / "cases.json"
DEVIATIONS_DOC = "docs/deviations/asl-validation.md"


# Case name -> reason; each entry is explained in docs/deviations/asl-validation.md.
DEVIATIONS: dict[str, str] = {}

CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
VALID = [case for case in CASES if case["expected"] == "valid"]
INVALID = [case for case in CASES if case["expected"] == "invalid"]
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")
_AWS_LOCATION = re.compile(r" at (/[^']*?)\s*'?$")


def _case_id(case: dict[str, Any]) -> str:
    # Names hold control characters (Map label cases); escape them for readable ids.
    short = case["name"].split("::")[-1]
    return short.encode("unicode_escape").decode("ascii")


def _param(case: dict[str, Any]) -> Any:
    marks = []
    if case["name"] in DEVIATIONS:
        reason = f"{DEVIATIONS[case['name']]} (see {DEVIATIONS_DOC})"
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(case, id=_case_id(case), marks=marks)


def _definition(case: dict[str, Any]) -> Any:
    return case["definition"] if "definition" in case else case["definition_text"]


def _pointer(path: str) -> str:
    """Our ``$.States['a b'].Next`` as AWS's JSON pointer ``/States/a b/Next``."""
    parts, pos = [], 1
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        assert match, f"unparsable problem path {path!r}"
        name, quoted, index = match.groups()
        parts.append(name or index or re.sub(r"\\(.)", r"\1", quoted or ""))
        pos = match.end()
    return "/" + "/".join(parts)


def _aws_location(case: dict[str, Any]) -> str | None:
    error = case.get("recorded_error") or {}
    diagnostics = error.get("diagnostics") or []
    if diagnostics:
        location = str(diagnostics[0].get("location", ""))
        # JSON-syntax diagnostics locate a parser position, not a JSON pointer.
        return location if location.startswith("/") else None
    found = _AWS_LOCATION.search(error.get("message") or "")
    return found.group(1) if found else None


def test_case_ids_are_unique() -> None:
    ids = [_case_id(case) for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", [_param(case) for case in VALID])
def test_accepted_by_aws_is_accepted(case: dict[str, Any]) -> None:
    validate(_definition(case), machine_type=case["state_machine_type"])


@pytest.mark.parametrize("case", [_param(case) for case in INVALID])
def test_rejected_by_aws_is_rejected(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidDefinition) as info:
        validate(_definition(case), machine_type=case["state_machine_type"])
    location = _aws_location(case)
    if location is not None:
        # AWS names one location; one of our problems must sit at or below it.
        pointers = [_pointer(path) for path, _ in info.value.problems]
        assert any(p == location or p.startswith(location.rstrip("/") + "/") for p in pointers)


def test_conformance_rates() -> None:
    """Every valid definition accepted; at least 95% of the invalid ones rejected."""
    accepted = [
        case
        for case in VALID
        if not find_problems(_definition(case), machine_type=case["state_machine_type"])
    ]
    rejected = [
        case
        for case in INVALID
        if find_problems(_definition(case), machine_type=case["state_machine_type"])
    ]
    assert len(accepted) == len(VALID) == 11
    assert len(rejected) / len(INVALID) >= 0.95
    missed = {case["name"] for case in INVALID} - {case["name"] for case in rejected}
    assert missed <= DEVIATIONS.keys(), f"undocumented misses: {sorted(missed)}"


def test_every_executed_definition_is_accepted() -> None:
    """AWS created a machine for every execution recorded in stepfunctions/cases.json."""
    executions: list[dict[str, Any]] = json.loads(EXECUTIONS_FILE.read_text(encoding="utf-8"))
    refused = {
        case["name"]: problems
        for case in executions
        if (problems := find_problems(case["definition"], machine_type=case["state_machine_type"]))
    }
    assert len(executions) == 929
    assert refused == {}
