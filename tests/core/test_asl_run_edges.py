"""Interpreter edges run through the virtual-clock simulator: indefinite IsPresent, the
history cap, express ARNs, intrinsics on lists and booleans, Map item selection and
batching, tolerance settings, catcher failures, payload limits and child time limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stormproof.core.asl.interpreter import StartContext, advance
from stormproof.core.asl.simulate import SimResult, simulate

DONE = {"Type": "Pass", "End": True}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(states: dict[str, Any], value: Any = None, **options: Any) -> SimResult:
    language = options.pop("language", None)
    machine: dict[str, Any] = {"StartAt": next(iter(states)), "States": states}
    if language:
        machine["QueryLanguage"] = language
    return simulate(machine, value, **options)


def distributed(processor_states: dict[str, Any], **fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": next(iter(processor_states)),
        "States": processor_states,
    }
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}


def test_an_indefinite_path_selecting_nothing_is_not_present() -> None:
    choice = {
        "Type": "Choice",
        "Default": "Done",
        "Choices": [{"Variable": "$.a[*]", "IsPresent": True, "Next": "Yes"}],
    }
    states = {"C": choice, "Yes": {"Type": "Pass", "Result": "yes", "End": True}, "Done": DONE}
    assert run(states, {"a": []}).output == {"a": []}
    assert run(states, {"a": [1]}).output == "yes"


def test_an_execution_past_25000_history_events_fails() -> None:
    states = {
        "Count": {"Type": "Pass", "Assign": {"n": "{% $n + 1 %}"}, "Next": "Again"},
        "Again": {
            "Type": "Choice",
            "Default": "Done",
            "Choices": [{"Condition": "{% $n < 100000 %}", "Next": "Count"}],
        },
        "Done": DONE,
    }
    first = {"Start": {"Type": "Pass", "Assign": {"n": 0}, "Next": "Count"}, **states}
    result = run(first, language="JSONata")
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == "The execution history exceeded 25000 events."


def test_an_express_execution_has_a_three_part_arn_and_no_redrive_count() -> None:
    context = StartContext(T0, "e1", "M", express_id="abc")
    result = run(
        {"P": {"Type": "Pass", "Parameters": {"x.$": "$$.Execution"}, "End": True}}, context=context
    )
    execution = result.output["x"]
    assert execution["Id"].endswith(":express:M:e1:abc") and "RedriveCount" not in execution


def test_advancing_a_finished_execution_does_nothing() -> None:
    result = run({"P": DONE})
    step = advance(result.state, T0, None, {})  # type: ignore[arg-type]
    assert step.events == [] and step.state["status"] == "SUCCEEDED"


def test_intrinsics_print_lists_like_java_and_booleans_are_not_numbers() -> None:
    params = {
        "s.$": "States.Format('{}', $.l)",
        "has.$": "States.ArrayContains($.b, true)",
        "one.$": "States.ArrayContains($.n, true)",
    }
    result = run(
        {"P": {"Type": "Pass", "Parameters": params, "End": True}},
        {"l": [1, [True, None]], "b": [1, True], "n": [1]},
    )
    assert result.output == {"s": "[1, [true, null]]", "has": True, "one": False}
    bad = run(
        {"P": {"Type": "Pass", "Parameters": {"r.$": "States.ArrayRange(1, true, 1)"}, "End": True}}
    )
    assert (bad.status, bad.error) == ("FAILED", "States.Runtime")
    assert "States.ArrayRange expects integers" in str(bad.cause)


def test_map_items_go_through_the_item_selector_in_both_languages() -> None:
    jsonpath = {
        "Type": "Map",
        "End": True,
        "ItemsPath": "$.xs",
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
        "ItemProcessor": {"StartAt": "I", "States": {"I": DONE}},
    }
    assert run({"M": jsonpath}, {"xs": ["a", "b"], "k": 1}).output == [
        {"i": 0, "v": "a", "k": 1},
        {"i": 1, "v": "b", "k": 1},
    ]
    jsonata = {
        "Type": "Map",
        "End": True,
        "Items": "{% $states.input.xs %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
        "ItemProcessor": {"StartAt": "I", "States": {"I": DONE}},
    }
    assert run({"M": jsonata}, {"xs": [1, 2]}, language="JSONata").output == [{"v": 10}, {"v": 20}]


def test_batches_are_cut_by_bytes_and_carry_a_jsonata_batch_input() -> None:
    batcher = {"MaxInputBytesPerBatch": 30, "BatchInput": {"tag": "{% $states.input.tag %}"}}
    state = distributed({"I": DONE}, Items="{% $states.input.xs %}", ItemBatcher=batcher)
    result = run(
        {"M": state}, {"xs": ["aaaaaaaaaa", "bbbbbbbbbb", "c"], "tag": "t"}, language="JSONata"
    )
    assert result.status == "SUCCEEDED"
    assert result.output == [
        {"Items": ["aaaaaaaaaa"], "BatchInput": {"tag": "t"}},
        {"Items": ["bbbbbbbbbb", "c"], "BatchInput": {"tag": "t"}},
    ]


def test_with_both_tolerances_a_map_fails_only_past_both() -> None:
    check = {
        "Type": "Choice",
        "Default": "Ok",
        "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "Bad"}],
    }
    processor = {"C": check, "Bad": {"Type": "Fail", "Error": "E"}, "Ok": DONE}
    state = distributed(
        processor, ItemsPath="$.xs", ToleratedFailureCount=1, ToleratedFailurePercentage=60
    )
    # 2 failures > 1, but 50 % <= 60 %: within tolerance.
    assert run({"M": state}, {"xs": ["bad", "bad", "ok", "ok"]}).status == "SUCCEEDED"
    assert run({"M": state}, {"xs": ["bad", "bad", "bad", "ok"]}).status == "FAILED"


def test_a_negative_max_concurrency_leaves_the_map_running_and_negative_tolerance_fails() -> None:
    base = {
        "Type": "Map",
        "End": True,
        "ItemsPath": "$.xs",
        "ItemProcessor": {"StartAt": "I", "States": {"I": DONE}},
    }
    stuck = run({"M": {**base, "MaxConcurrencyPath": "$.n"}}, {"xs": [1], "n": -1})
    assert stuck.status == "RUNNING"
    assert "MapStateStarted" not in [e["type"] for e in stuck.history]
    bad = run({"M": {**base, "ToleratedFailureCountPath": "$.n"}}, {"xs": [1], "n": -1})
    assert (bad.status, bad.error) == ("FAILED", "States.Runtime")
    assert bad.cause is not None and "ToleratedFailureCount cannot be negative." in bad.cause


def test_a_catcher_whose_result_path_cannot_be_placed_fails_the_execution() -> None:
    task = {
        "Type": "Task",
        "Resource": "fn",
        "End": True,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.a[5]", "Next": "Done"}],
    }
    result = run({"T": task, "Done": DONE}, {"a": [0]})
    assert (result.status, result.error) == ("FAILED", "States.ResultPathMatchFailure")


def test_a_jsonata_catcher_assigns_from_the_error() -> None:
    task = {
        "Type": "Task",
        "Resource": "fn",
        "End": True,
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "Next": "Done",
                "Assign": {"e": "{% $states.errorOutput.Error %}"},
            }
        ],
    }
    done = {"Type": "Pass", "Output": "{% $e %}", "End": True}
    result = run({"T": task, "Done": done}, {}, language="JSONata")
    assert (result.status, result.output) == ("SUCCEEDED", "States.TaskFailed")


def test_a_state_result_over_256_kib_exceeds_the_data_limit() -> None:
    result = run({"P": {"Type": "Pass", "Result": "x" * 300_000, "End": True}})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


def test_a_child_execution_unfinished_at_the_virtual_time_limit_keeps_the_map_running() -> None:
    state = distributed({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, ItemsPath="$.xs")
    result = run({"M": state}, {"xs": [1]}, max_virtual_time=10)
    assert result.status == "RUNNING"
