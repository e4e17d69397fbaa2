"""Every recorded input-transformer case, end to end: PutEvents on a real bus, a rule with
the case's target settings, delivery to a queue (or none, or rejection at definition)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stormproof import App, Target
from stormproof.bus.targets import rule_arn
from stormproof.core.identity import ACCOUNT, REGION
from stormproof.errors import InvalidAttribute
from tests.conformance.test_eventbridge_input_transformers import (
    BUS_NAME,
    CASES,
    RULE_ARN,
    RULE_NAME,
    _normalise,
    _normalise_text,
)

_FIELDS = {
    "Source": "source",
    "DetailType": "detail_type",
    "Detail": "detail",
    "Resources": "resources",
    "Time": "time",
}


def _as_recorded(text: str, event: dict[str, Any]) -> str:
    """Our rule ARN spelled as in the recording (account and region are AWS's already)."""
    assert (event["account"], event["region"]) == (ACCOUNT, REGION)
    return text.replace(rule_arn(BUS_NAME, RULE_NAME), RULE_ARN)


def _target(queue: Any, case: dict[str, Any]) -> Target:
    return Target(
        queue, input_path=case.get("input_path"), input_transformer=case.get("input_transformer")
    )


async def test_every_recorded_case_through_a_bus(store_url: str) -> None:
    app = App("conformance", store_url, consume=True)
    app.buses.background = False
    queues = [app.queue(f"case-{i}") for i in range(len(CASES))]
    bus = app.bus(BUS_NAME)
    outcomes: dict[str, int] = {}
    async with app:
        for i, case in enumerate(CASES):
            kind = case["expected"]
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if kind == "put_targets_rejected":
                with pytest.raises(InvalidAttribute):
                    _target(queues[i], case)
                continue
            bus.rule(
                RULE_NAME,
                pattern={"source": [case["event"]["source"]]},
                targets=[_target(queues[i], case)],
            )
            entry = {_FIELDS[k]: v for k, v in case["put_events_entry"].items() if k in _FIELDS}
            assert (await bus.put_events([entry])).failed_entry_count == 0
            got = await queues[i].receive(10)
            if kind == "not_delivered":
                assert got == [], case["name"]
                continue
            [msg] = got
            body = _as_recorded(msg.body, case["event"])
            if "expected_output_text" in case:
                assert _normalise_text(body) == _normalise_text(case["expected_output_text"])
            else:
                assert _normalise(json.loads(body)) == _normalise(case["expected_output"])
    assert outcomes == {"delivered": 28, "not_delivered": 3, "put_targets_rejected": 2}
