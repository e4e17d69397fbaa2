"""Recorded AWS Step Functions executions, replayed through durable executions.

Each case in ``tests/conformance/vectors/stepfunctions/cases.json`` is run with
:func:`stormproof.testing.run_state_machine` (the real step consumer on a SQLite store, one
store for the whole module, with a fake clock) and compared
with AWS's recording: status, error, cause and output after the README's
normalisation, and the history's event types where recorded. Cases that do
not pass are listed in ``docs/deviations/stepfunctions.md`` and marked
``xfail(strict=True)`` here; none is skipped.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from stormproof.testing import run_state_machine
from stormproof.testing.machines import MachineHarness
from tests.conformance import VECTORS

CONFORMANCE = VECTORS
CASES_FILE = CONFORMANCE / "stepfunctions" / "cases.json"
DEVIATIONS_FILE = Path(__file__).resolve().parents[2] / "docs" / "deviations" / "stepfunctions.md"

#: The clock-dependent inputs were computed relative to this instant.
START_TIME = datetime(2026, 11, 23, 8, 47, 19, tzinfo=UTC)
#: Longer than a Standard execution may run: anything unfinished then is RUNNING.
MAX_VIRTUAL_TIME = timedelta(days=400)

EXECUTION_NAME = "execQ7x9"
MACHINE_NAME = "machineZ3k8"
ROLE_ARN = "arn:aws:iam::111111111111:role/roleW4p2"
EXPRESS_ID = "expressK5m1"

#: Per-case driver hints that reproduce what the recording test did around the execution.
HINTS: dict[str, dict[str, Any]] = {
    # The test called StopExecution while the execution sat in its 60 s Wait.
    "test_stop_execution": {"stop_after": 1},
    # The recording lists events newest first; its "RUNNING" is an artefact of that.
    "test_get_execution_history_reversed": {"events_reversed": True, "status": "SUCCEEDED"},
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
_PLACEHOLDER = re.compile(r"<[A-Za-z0-9_\-:]+>|\bdate\b")


def _load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return cases


CASES = _load_cases()


def _deviations() -> dict[str, str]:
    """Case name -> reason, read from the table in docs/deviations/stepfunctions.md."""
    if not DEVIATIONS_FILE.exists():
        return {}
    found: dict[str, str] = {}
    for line in DEVIATIONS_FILE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([^`]+)` \| (\w+) \| (.+) \|$", line)
        if m:
            found[m.group(1)] = f"{m.group(2)}: {m.group(3)}"
    return found


DEVIATIONS = _deviations()


def _short(name: str) -> str:
    return name.rsplit("::", maxsplit=1)[-1].split("[", maxsplit=1)[0].split("#", maxsplit=1)[0]


_EXPRESS_ARN = re.compile(r"(:express:[^:\"]+:[^:\"]+:)[0-9a-f]{32}")


def _normalise_text(text: str) -> str:
    text = _EXPRESS_ARN.sub(lambda m: m.group(1) + EXPRESS_ID, text)
    text = text.replace(ROLE_ARN, "snf_role_arn").replace("arn:aws:", "arn:<partition>:")
    text = text.replace("us-east-1", "<region>").replace(MACHINE_NAME, "<ArnPart_0idx>")
    text = text.replace(EXECUTION_NAME, "<ExecArnPart_0idx>").replace(EXPRESS_ID, "<SyncId>")
    return _DATE.sub(_date_placeholder, text)


def _date_placeholder(match: re.Match[str]) -> str:
    # The recorder replaced only real dates: "2016-13-05T21:29:29Z" stays as is.
    text = match.group(0).replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = re.match(r"\d+", tail)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac) :]}"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return match.group(0)
    return "date"


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return _normalise_text(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {_normalise_text(k): _normalise(v) for k, v in value.items()}
    return value


def _expected_text(text: str) -> str:
    text = re.sub(r"<(ExecArnPart|ArnPart)_\d+idx>", r"<\1_0idx>", text)
    text = re.sub(r"<SyncExecArn_Part1_\d+idx>", "<ExecArnPart_0idx>", text)
    text = re.sub(r"<SyncExecArn_Part2_\d+idx>", "<SyncId>", text)
    # The express snapshots spell the role placeholder differently.
    return text.replace("sfn_role_arn", "snf_role_arn")


def _text_matches(expected: str, actual: str) -> bool:
    expected = _expected_text(expected)
    if expected == actual:
        return True
    if not _PLACEHOLDER.search(expected):
        return False
    pattern = "".join(
        ".*?" if _PLACEHOLDER.fullmatch(part) else re.escape(part)
        for part in re.split(f"({_PLACEHOLDER.pattern})", expected)
    )
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def json_matches(expected: Any, actual: Any) -> bool:
    """Deep JSON equality: objects unordered, bool distinct from numbers, placeholders honoured."""
    if isinstance(expected, str) and isinstance(actual, str):
        return _text_matches(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = {_expected_text(k) for k in expected}
        if keys != set(actual):
            return False
        return all(json_matches(v, actual[_expected_text(k)]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            json_matches(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return bool(expected == actual)


def _apply_transformers(case: dict[str, Any], output: Any) -> Any:
    """Apply the recorder's ``$..key`` replacements (test-specific) to our output."""
    for transformer in case["test_transformers"]:
        if transformer.get("kind") == "jsonpath":
            key = transformer["jsonpath"].rsplit(".", 1)[-1]
            output = _replace_key(output, key, transformer["replacement"])
    return output


def _replace_key(value: Any, key: str, replacement: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: replacement if k == key else _replace_key(v, key, replacement)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_key(v, key, replacement) for v in value]
    return value


def _events_match(case: dict[str, Any], actual: list[str]) -> bool:
    expected = list(case["events"])
    if HINTS.get(_short(case["name"]), {}).get("events_reversed"):
        expected.reverse()
    if not case["parallel_events_normalised"]:
        return expected == actual
    # The recorder sorted (and de-duplicated) each Parallel block: compare the
    # parts outside it exactly and the block as a sub-multiset of ours.
    first = expected.index("ParallelStateStarted")
    tail = len(expected) - max(i for i, e in enumerate(expected) if e == "ParallelStateExited")
    if expected[:first] != actual[:first] or expected[-tail:] != actual[-tail:]:
        return False
    inner = collections.Counter(expected[first:-tail])
    return not inner - collections.Counter(actual[first:-tail])


_HARNESSES: list[MachineHarness] = []


def _harness() -> MachineHarness:
    """One store for every case of the module (one execution per case, then forgotten)."""
    if not _HARNESSES:
        _HARNESSES.append(MachineHarness())
    return _HARNESSES[0]


@pytest.fixture(scope="module", autouse=True)
def _close_harness() -> Iterator[None]:
    yield
    while _HARNESSES:
        _HARNESSES.pop().close()


@cache
def outcome(name: str) -> tuple[bool, bool | None, str]:
    """(outcome matches, events match or None when not recorded, explanation)."""
    case = next(c for c in CASES if c["name"] == name)
    hints = HINTS.get(_short(name), {})
    result = run_state_machine(
        case["definition"],
        case["input"],
        max_virtual_time=MAX_VIRTUAL_TIME,
        harness=_harness(),
        name=EXECUTION_NAME,
        machine_name=MACHINE_NAME,
        machine_type=case["state_machine_type"],
        role_arn=ROLE_ARN,
        start_time=START_TIME,
        stop_after=hints.get("stop_after"),
    )
    expected = case["expected"]
    output = _apply_transformers(case, _normalise(result.output))
    cause = _normalise(result.cause) if result.cause is not None else None
    checks = {
        "status": result.status == hints.get("status", expected["status"]),
        "error": result.error == expected["error"],
        "cause": (cause is None and expected["cause"] is None)
        or (
            cause is not None
            and expected["cause"] is not None
            and _text_matches(expected["cause"], cause)
        ),
        "output": expected["status"] != "SUCCEEDED" or json_matches(expected["output"], output),
    }
    types = [e["type"] for e in result.history]
    events_ok = None if case["events"] is None else _events_match(case, types)
    detail = (
        f"failed checks: {[k for k, ok in checks.items() if not ok]}\n"
        f"got status={result.status} error={result.error} cause={cause!r}\n"
        f"output={json.dumps(output)[:600]}\nexpected={json.dumps(expected)[:600]}\n"
        f"events={types}\nexpected events={case['events']}"
    )
    return all(checks.values()), events_ok, detail


def _group(case: dict[str, Any]) -> str:
    return str(case["snapshot_file"].split("/v2/")[-1].split("/")[0].split(".")[0])


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case["name"] in DEVIATIONS:
            marks.append(pytest.mark.xfail(strict=True, reason=DEVIATIONS[case["name"]]))
        params.append(pytest.param(case["name"], id=case["name"][-120:], marks=marks))
    return params


@pytest.mark.parametrize("name", _params())
def test_case(name: str) -> None:
    """Outcome (status, error, cause, output) and recorded event types match AWS."""
    ok, events_ok, detail = outcome(name)
    assert ok and events_ok is not False, detail


def test_pass_rates() -> None:
    """At least 98% of cases per feature group by outcome, 95% of event sequences."""
    by_group: dict[str, list[bool]] = collections.defaultdict(list)
    sequences: list[bool] = []
    for case in CASES:
        ok, events_ok, _ = outcome(case["name"])
        by_group[_group(case)].append(ok)
        for feature in case["features"]:
            by_group[f"feature:{feature}"].append(ok)
        if events_ok is not None:
            sequences.append(events_ok)
    rates = {group: sum(v) / len(v) for group, v in by_group.items()}
    low = {group: rate for group, rate in rates.items() if rate < 0.98}
    assert not low, f"groups below 98%: {low}"
    assert sum(sequences) / len(sequences) >= 0.95


def test_deviations_are_real_cases() -> None:
    """Every case named in the deviations file exists (the list cannot go stale)."""
    names = {case["name"] for case in CASES}
    assert set(DEVIATIONS) <= names
