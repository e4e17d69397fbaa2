"""Drive every recorded EventBridge input-path / input-transformer case through core.transform.

Cases: ``conformance/eventbridge/input_transformers.json`` (recorded against AWS; see the
README beside it). Volatile values were replaced by placeholders when they were recorded, so
our output is normalised the same way before comparing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from stormproof.core.transform import InputTransformer, TargetInput
from stormproof.errors import InvalidAttribute
from tests.conformance import VECTORS

CONFORMANCE = VECTORS
CASES_FILE = CONFORMANCE / "eventbridge" / "input_transformers.json"


CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))

BUS_NAME = "test-bus"
RULE_NAME = "test-rule"
RULE_ARN = f"arn:aws:events:us-east-1:111111111111:rule/{BUS_NAME}/{RULE_NAME}"
INGESTION_TIME = datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC)

# "date" stands for any ISO-8601 date-time with Z or an offset (README, Placeholders).
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normalise_text(text: str) -> str:
    text = _DATE.sub("date", text)
    text = _UUID.sub("<uuid>", text)
    # The recorder numbered UUIDs per test (<uuid:2>, <uuid:3>); the number carries no meaning here.
    text = re.sub(r"<uuid:\d+>", "<uuid>", text)
    # One recording masked the ingestion time with its own token; it is a date-time like any other.
    text = text.replace("<ingestion-time>", "date")
    text = text.replace("arn:aws:", "arn:<partition>:").replace("us-east-1", "<region>")
    return text.replace(BUS_NAME, "<bus-name>").replace(RULE_NAME, "<rule-name>")


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return _normalise_text(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {_normalise_text(k): _normalise(v) for k, v in value.items()}
    return value


def _build(case: dict[str, Any]) -> TargetInput:
    spec = case.get("input_transformer")
    return TargetInput.build(
        input_path=case.get("input_path"),
        input_transformer=InputTransformer.from_aws(spec) if spec is not None else None,
    )


def _case_id(case: dict[str, Any]) -> str:
    return str(case["name"]).rsplit("::", 1)[-1]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_recorded_case(case: dict[str, Any]) -> None:
    if case["expected"] == "put_targets_rejected":
        with pytest.raises(InvalidAttribute):
            _build(case)
        return
    body = _build(case).render(
        case["event"], rule_arn=RULE_ARN, rule_name=RULE_NAME, ingestion_time=INGESTION_TIME
    )
    if case["expected"] == "not_delivered":
        assert body is None
        return
    assert body is not None, "expected a delivery"
    if "expected_output_text" in case:
        assert _normalise_text(body) == _normalise_text(case["expected_output_text"])
    else:
        assert _normalise(json.loads(body)) == _normalise(case["expected_output"])


def test_every_outcome_kind_is_covered() -> None:
    kinds = {c["expected"] for c in CASES}
    assert kinds == {"delivered", "not_delivered", "put_targets_rejected"}
    assert len(CASES) == 33
