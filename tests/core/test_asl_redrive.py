"""RedriveExecution: only the failed or aborted iterations and branches run again (AWS)."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from stormproof.core.asl.interpreter import StartContext, abort, advance, start
from stormproof.core.asl.redrive import redrive_state

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def task(**fields: Any) -> dict[str, Any]:
    """A Task state calling ``fn`` that ends its block."""
    return {"Type": "Task", "Resource": "fn", "End": True, **fields}


def parallel(*branches: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Parallel state whose branch ``i`` is one Task with input ``{"b": i, "in": $}``."""
    return {
        "Type": "Parallel",
        "End": True,
        "Branches": list(branches)
        or [
            {"StartAt": "T", "States": {"T": task(Parameters={"b": i, "in.$": "$"})}}
            for i in range(3)
        ],
        **fields,
    }


def inline_map(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An inline Map state running ``processor`` (a single state named ``P``)."""
    return {
        "Type": "Map",
        "End": True,
        "ItemProcessor": {"StartAt": "P", "States": {"P": processor}},
        **fields,
    }


def machine(state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A machine whose only state is ``state``, called ``S``."""
    return {"StartAt": "S", "States": {"S": state}, **fields}


class Driver:
    """Drives the interpreter by hand; tasks are identified by their input."""

    def __init__(self, definition: dict[str, Any], value: Any = None) -> None:
        self.state = start(definition, value, StartContext(start_time=T0))
        self.events: list[dict[str, Any]] = []
        self.requested: list[Any] = []
        self.pending: dict[str, Any] = {}
        self.step(T0, {})

    def step(self, now: datetime, completed: dict[str, dict[str, Any]]) -> None:
        """One ``advance``; records the newly requested tasks' inputs."""
        step = advance(self.state, now, random.Random(0), completed)
        self.state, self.events = step.state, self.events + step.events
        tasks = {t["id"]: t["input"] for t in step.tasks}
        self.requested += [v for k, v in tasks.items() if k not in self.pending]
        self.pending = tasks

    def feed(self, *outcomes: tuple[Any, dict[str, Any]], now: datetime = T0) -> None:
        """Complete the pending tasks with these ``(input, outcome)`` pairs."""
        completed = {k: o for k, v in self.pending.items() for i, o in outcomes if v == i}
        assert len(completed) == len(outcomes), (outcomes, self.pending)
        self.step(now, completed)

    def redrive(self, now: datetime = T0) -> None:
        """Redrive the execution, then advance it once."""
        self.state, events = redrive_state(self.state, now)
        self.events += events
        self.requested, self.pending = [], {}
        self.step(now, {})

    @property
    def status(self) -> str:
        """The execution's status."""
        return str(self.state["status"])

    def count(self, event_type: str) -> int:
        """How many events of ``event_type`` the history has."""
        return [e["type"] for e in self.events].count(event_type)


def ok(value: Any) -> dict[str, Any]:
    """A task's successful outcome."""
    return {"output": value}


FAIL = {"error": "Boom", "cause": "broken"}


def branch(i: int, value: Any = None) -> dict[str, Any]:
    """The input of the task of branch ``i`` of :func:`parallel` given ``value``."""
    return {"b": i, "in": {} if value is None else value}


def test_parallel_redrive_reruns_only_the_failed_branch() -> None:
    run = Driver(machine(parallel()))
    assert run.requested == [branch(0), branch(1), branch(2)]
    run.feed((branch(0), ok("one")), (branch(2), ok("three")))
    run.feed((branch(1), FAIL))
    assert run.status == "FAILED" and run.state["error"] == "Boom"
    saved = run.state["root"]["redrive"]["children"]
    assert saved[0] == {"status": "SUCCEEDED", "output": "one"}  # only the output is kept
    run.redrive()
    assert run.requested == [branch(1)]
    assert run.count("ParallelStateEntered") == 2 and run.count("ParallelStateStarted") == 1
    run.feed((branch(1), ok("two")))
    assert run.status == "SUCCEEDED"
    assert run.state["output"] == ["one", "two", "three"]


def test_parallel_redrive_also_reruns_the_branches_it_aborted() -> None:
    run = Driver(machine(parallel()))
    run.feed((branch(0), ok("one")))
    run.feed((branch(1), FAIL))  # branch 2 was still running: aborted
    run.redrive()
    assert run.requested == [branch(1), branch(2)]
    run.feed((branch(1), ok("two")), (branch(2), ok("three")))
    assert run.state["output"] == ["one", "two", "three"]


def test_inline_map_redrive_reruns_the_failed_item_then_launches_the_rest() -> None:
    run = Driver(machine(inline_map(task(), MaxConcurrency=2)), [1, 2, 3, 4, 5])
    assert run.requested == [1, 2]
    run.feed((1, ok(10)))
    assert run.requested == [1, 2, 3]
    run.feed((2, ok(20)), (3, FAIL))  # item 4 was never launched
    assert run.status == "FAILED" and run.count("MapIterationFailed") == 1
    run.redrive()
    assert run.requested == [3, 4]  # item 3 again, then the next one MaxConcurrency allows
    run.feed((3, ok(30)), (4, ok(40)))
    assert run.requested == [3, 4, 5]
    run.feed((5, ok(50)))
    assert run.status == "SUCCEEDED" and run.state["output"] == [10, 20, 30, 40, 50]
    assert run.count("MapStateStarted") == 1 and run.count("MapIterationSucceeded") == 5


def test_inline_map_redrive_reruns_the_iterations_it_aborted() -> None:
    run = Driver(machine(inline_map(task())), [1, 2, 3])
    run.feed((1, FAIL))
    run.redrive()
    assert run.requested == [1, 2, 3]  # 2 and 3 were running when the Map failed
    run.feed((1, ok("a")), (2, ok("b")), (3, ok("c")))
    assert run.state["output"] == ["a", "b", "c"]


def one_task_branches(*parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """Branches of one Task each, with these ``Parameters``."""
    return [{"StartAt": "T", "States": {"T": task(Parameters=p)}} for p in parameters]


def test_parallel_in_a_map_redrives_only_the_failed_branch_of_the_failed_item() -> None:
    branches = one_task_branches({"b": 0, "in.$": "$"}, {"b": 1, "in.$": "$"})
    run = Driver(machine(inline_map(parallel(*branches))), [1, 2, 3])
    assert len(run.requested) == 6
    done = [(branch(b, item), ok(f"{item}/{b}")) for item in (1, 2, 3) for b in (0, 1)]
    run.feed(*[pair for pair in done if pair[0] != branch(1, 2)])
    run.feed((branch(1, 2), FAIL))
    assert run.status == "FAILED"
    run.redrive()
    assert run.requested == [branch(1, 2)]
    run.feed((branch(1, 2), ok("2/1")))
    assert run.state["output"] == [["1/0", "1/1"], ["2/0", "2/1"], ["3/0", "3/1"]]


def test_parallel_in_a_parallel_redrives_only_the_inner_failed_branch() -> None:
    inner = parallel(*one_task_branches({"b": 10}, {"b": 11}))
    outer = parallel(*one_task_branches({"b": 0}), {"StartAt": "I", "States": {"I": inner}})
    run = Driver(machine(outer))
    run.feed(({"b": 0}, ok("x")), ({"b": 10}, ok("y")))
    run.feed(({"b": 11}, FAIL))
    run.redrive()
    assert run.requested == [{"b": 11}]
    run.feed(({"b": 11}, ok("z")))
    assert run.state["output"] == ["x", ["y", "z"]]


def test_a_failed_task_runs_again_and_earlier_states_do_not() -> None:
    definition = {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Result": 1, "ResultPath": "$.p", "Next": "S"},
            "S": task(ResultPath="$.r"),
        },
    }
    run = Driver(definition, {"x": 0})
    run.feed(({"x": 0, "p": 1}, FAIL))
    before = copy.deepcopy(run.state)
    redriven, events = redrive_state(run.state, T0 + timedelta(seconds=5))
    assert run.state == before  # the argument is left alone
    assert [e["type"] for e in events] == ["ExecutionRedriven"]
    assert events[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert events[0]["id"] == before["counter"]["next_event_id"]
    assert redriven["context"]["Execution"]["RedriveCount"] == 1
    run.redrive()
    assert run.requested == [{"x": 0, "p": 1}]
    run.feed(({"x": 0, "p": 1}, FAIL))
    run.redrive()
    assert run.state["context"]["Execution"]["RedriveCount"] == 2
    run.feed(({"x": 0, "p": 1}, ok("done")))
    assert run.state["output"] == {"x": 0, "p": 1, "r": "done"}
    assert run.count("PassStateEntered") == 1 and run.count("TaskStateEntered") == 3


def test_a_timed_out_execution_resumes_its_running_branches() -> None:
    run = Driver(machine(parallel(), TimeoutSeconds=10))
    run.feed((branch(0), ok("one")))
    run.step(T0 + timedelta(seconds=11), {})
    assert run.status == "TIMED_OUT"
    later = T0 + timedelta(seconds=20)
    run.redrive(later)
    assert run.state["deadline"] == "2026-01-01T00:00:30.000Z"
    assert run.requested == [branch(1), branch(2)]
    run.feed((branch(1), ok("two")), (branch(2), ok("three")), now=later)
    assert run.status == "SUCCEEDED" and run.state["output"] == ["one", "two", "three"]


def test_an_aborted_execution_resumes_its_unfinished_iterations() -> None:
    run = Driver(machine(inline_map(task())), [1, 2, 3])
    run.feed((2, ok("b")))
    run.state = abort(run.state, T0, "Stop", "by user").state
    assert run.status == "ABORTED"
    run.redrive()
    assert run.requested == [1, 3]
    run.feed((1, ok("a")), (3, ok("c")))
    assert run.state["output"] == ["a", "b", "c"]


def test_a_retry_restarts_the_whole_state_as_before() -> None:
    run = Driver(machine(parallel(Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}])))
    run.feed((branch(0), ok("one")), (branch(1), FAIL))
    run.step(T0 + timedelta(seconds=1), {})
    assert run.requested[3:] == [branch(0), branch(1), branch(2)]


def test_a_caught_failure_keeps_no_progress() -> None:
    caught = parallel(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "F"}])
    del caught["End"]
    run = Driver({"StartAt": "S", "States": {"S": {**caught, "Next": "F"}, "F": task()}})
    run.feed((branch(1), FAIL))
    assert run.state["root"]["state"] == "F"
    assert "redrive" not in run.state["root"] and "children" not in run.state["root"]


def test_a_distributed_map_hands_its_failed_and_stopped_children_to_map_run() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": task()},
    }
    state = {"Type": "Map", "End": True, "ItemProcessor": processor}
    begun = start(machine(state), [1, 2, 3], StartContext(start_time=T0))
    step = advance(begun, T0, random.Random(0), {})
    ids = {r["index"]: r["id"] for r in step.executions}
    step = advance(step.state, T0, random.Random(0), {ids[0]: ok(1), ids[1]: FAIL})
    assert step.status == "FAILED"
    redriven, _ = redrive_state(step.state, T0)
    again = advance(redriven, T0, random.Random(0), {}).executions
    assert [r["index"] for r in again] == [1, 2]
    assert all("redrive" in r and r["id"] not in ids.values() for r in again)
