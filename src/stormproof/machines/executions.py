"""Durable executions of state machines: the execution API and its background consumers.

``App`` delegates to one :class:`ExecutionManager`. An execution is a row in the store (its
definition, interpreter state and history) plus messages on two internal queues: steps
(:mod:`stormproof.machines.steps`) and tasks (:mod:`stormproof.machines.tasks`). Every state
transition commits with its history events and the next message in one transaction, so an
execution survives any crash; a Task may run again after one (at-least-once), never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import uuid
from collections.abc import Callable
from typing import Any

from stormproof.bus.manager import BusManager
from stormproof.core.asl.interpreter import ExecState, StartContext, start
from stormproof.core.numbers import whole_number
from stormproof.core.step_plan import (
    StepPlan,
    heartbeat,
    new_runtime,
    plan_abort,
    redrive,
    task_pending,
)
from stormproof.engine.runtime import Runtime
from stormproof.engine.waiting import nap_until_visible
from stormproof.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidAttribute,
    InvalidDefinition,
    StaleLease,
    StateMachineDoesNotExist,
    StoreError,
    TaskDoesNotExist,
)
from stormproof.functions.registry import FunctionRegistry
from stormproof.machines.definitions import MachineRegistry, StateMachine, check_name
from stormproof.machines.outcome_batches import OutcomeBatches
from stormproof.machines.records import (
    ACCOUNT,
    REDRIVABLE,
    REGION,
    ExecutionInfo,
    checked_payload,
    dumps,
    machine_name_of,
    split_token,
    to_datetime,
)
from stormproof.machines.resource_check import unknown_resources
from stormproof.machines.step_messages import step_op
from stormproof.machines.steps import MAX_CONFLICTS, StepConsumer, plan_ops, save_op
from stormproof.machines.tasks import TaskConsumer
from stormproof.queues.registry import QueueRegistry
from stormproof.storage import machine_ops
from stormproof.storage.base import Operation
from stormproof.storage.machine_ops import ExecutionRow, InsertExecution, SaveExecution

HISTORY_PAGE = 500  # steps per read
MAX_ERROR = 256
MAX_CAUSE = 32_768
Decide = Callable[[ExecutionRow], list[Operation] | None]


class ExecutionManager:
    """The machines of an app, the execution API, and the step and task consumers."""

    def __init__(
        self,
        app: Runtime,
        queues: QueueRegistry,
        functions: FunctionRegistry,
        buses: BusManager,
    ) -> None:
        self.app = app
        self.queues = queues
        self.functions = functions
        self.buses = buses
        self.machines = MachineRegistry(self)
        self.steps = StepConsumer(self)
        self.tasks = TaskConsumer(self, self.steps)
        self._background: list[asyncio.Task[None]] = []
        #: Run the step and task consumers when opened (``App(consume=True)``, a Worker).
        self.background = False
        self._definitions: dict[str, dict[str, Any]] = {}
        self._starts: OutcomeBatches | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Check and store the declared machines; run the consumers when asked to."""
        for machine in self.machines:
            problems = unknown_resources(machine.definition, machine.resources, self._is_function)
            if problems:
                raise InvalidDefinition(problems)
        for machine in self.machines:
            await self.save_machine(machine)
        if self.background:
            self.start_background_if_defined()

    def _is_function(self, name: str) -> bool:
        if name in self.functions.transactions.by_name:
            return True
        try:
            self.functions.get(name)
        except LookupError:
            return False
        return True

    def start_background_if_defined(self) -> None:
        """Run the step and task consumers when this app declares machines (a Worker)."""
        if len(self.machines):
            self.start_background()

    def start_background(self) -> None:
        """Run the step and task consumers as tasks of the running loop."""
        if not self._background:
            loop = asyncio.get_running_loop()
            self._background = [
                loop.create_task(self.steps.run(), name="stormproof-steps"),
                loop.create_task(self.tasks.run(), name="stormproof-tasks"),
            ]

    async def close(self) -> None:
        """Stop the consumers (unfinished steps and tasks reappear after their lease)."""
        await self.stop_background()
        await self.tasks.close()

    async def stop_background(self) -> None:
        """Cancel the step and task loops started by :meth:`start_background`."""
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []

    async def save_machine(self, machine: StateMachine) -> None:
        """Create or replace the machine's stored row (so any process can start it)."""
        await self.app.store.run(
            lambda: machine_ops.put_machine(
                machine.name, machine.definition_text, machine.type, machine.role_arn
            )
        )

    # --- helpers for the consumers ---------------------------------------------------

    def state_of(self, row: ExecutionRow) -> ExecState:
        """The interpreter state of a stored execution, with its own definition."""
        definition = self._definitions.get(row.definition)
        if definition is None:
            if len(self._definitions) > 256:
                self._definitions.clear()
            definition = self._definitions[row.definition] = json.loads(row.definition)
        return {**json.loads(row.state), "definition": definition}

    async def load(self, arn: str) -> ExecutionRow | None:
        """One execution row, or None."""
        rows = await self.app.store.run(lambda: machine_ops.load_executions([arn]))
        return rows.get(arn)

    async def wait_for(self, queue: str, limit: float, *, since: int | None = None) -> None:
        """Nap until a message of ``queue`` may be visible (at most ``limit`` seconds);
        ``since`` is the store's wake mark taken before the claim that found nothing."""
        await nap_until_visible(self.app.store, self.app.clock, queue, limit, since=since)

    async def machine(self, reference: str) -> StateMachine:
        """A declared machine, else a stored one (by name or ARN)."""
        name = machine_name_of(reference)
        declared = self.machines.get(name)
        if declared is not None:
            return declared
        row = await self.app.store.run(lambda: machine_ops.get_machine(name))
        if row is None:
            raise StateMachineDoesNotExist(name)
        return StateMachine(self, name, json.loads(row.definition), row.type, {}, row.role_arn)

    # --- the execution API -----------------------------------------------------------

    async def start_execution(
        self, machine: str, input: Any = None, name: str | None = None, *, parent: str | None = None
    ) -> str:
        """Start an execution; returns its ARN (see ``App.start_execution``)."""
        found, name, text, arn, ops = await self.start_ops(machine, input, name, parent=parent)
        if self._starts is None:  # made on first use: the store opens with the app
            self._starts = OutcomeBatches(self.app.store)
        try:
            # Concurrent starts share a transaction on PostgreSQL (one per start before).
            await self._starts.apply(ops)
        except StaleLease:
            return await self._existing(found.name, name, text)
        return arn

    async def start_ops(
        self, machine: str, input: Any = None, name: str | None = None, *, parent: str | None = None
    ) -> tuple[StateMachine, str, str, str, list[Operation]]:
        """The unit of work starting an execution (machine, name, input text, ARN, ops),
        so a caller can commit it with its own operations (the front door does)."""
        found = await self.machine(machine)
        name = str(uuid.uuid4()) if name is None else check_name("name", name)
        value = {} if input is None else input
        text = checked_payload("input", value)
        now = self.app.clock.now()
        context = StartContext(
            start_time=to_datetime(now),
            execution_name=name,
            state_machine_name=found.name,
            region=REGION,
            account=ACCOUNT,
            role_arn=found.role_arn,
            express_id=uuid.uuid4().hex if found.type == "EXPRESS" else None,
        )
        state = start(found.definition, json.loads(text), context)
        arn = str(state["context"]["Execution"]["Id"])
        stored = dumps({k: v for k, v in state.items() if k != "definition"})
        insert = InsertExecution(
            arn,
            found.name,
            name,
            text,
            found.definition_text,
            now,
            stored,
            dumps(new_runtime()),
            parent,
        )
        return found, name, text, arn, [insert, step_op(arn)]

    async def _existing(self, machine: str, name: str, text: str) -> str:
        row = await self.app.store.run(lambda: machine_ops.execution_by_name(machine, name))
        if row is None or row.status != "RUNNING" or json.loads(row.input) != json.loads(text):
            raise ExecutionAlreadyExists(name)
        return row.id

    async def describe_execution(self, arn: str) -> ExecutionInfo:
        """The execution's status, input, output, error and cause."""
        row = await self.load(arn)
        if row is None:
            raise ExecutionDoesNotExist(arn)
        return ExecutionInfo.from_row(row)

    async def get_execution_history(
        self, arn: str, *, reverse: bool = False
    ) -> list[dict[str, Any]]:
        """Every history event in AWS's shape (oldest first unless ``reverse``)."""
        if await self.load(arn) is None:
            raise ExecutionDoesNotExist(arn)
        events: list[dict[str, Any]] = []
        after: int | None = 0
        while after is not None:
            read = functools.partial(machine_ops.history_page, arn, after, HISTORY_PAGE)
            after, page = await self.app.store.run(read)
            events.extend(page)
        return events[::-1] if reverse else events

    async def list_executions(
        self,
        machine: str | None = None,
        status: str | None = None,
        limit: int = 100,
        *,
        map_run: str | None = None,
    ) -> list[ExecutionInfo]:
        """Executions, newest first, optionally of one machine, one status, one Map Run."""
        name = machine_name_of(machine) if machine else None
        whole_number("limit", limit, 1, allowed="a whole number >= 1")
        read = functools.partial(machine_ops.list_executions, name, status, limit, map_run)
        rows = await self.app.store.run(read)
        return [ExecutionInfo.from_row(r) for r in rows]

    async def stop_execution(
        self, arn: str, error: str | None = None, cause: str | None = None
    ) -> ExecutionInfo:
        """Abort a running execution (``ExecutionAborted``); a closed one is left as is."""
        _check_failure(error, cause)

        def decide(row: ExecutionRow) -> list[Operation] | None:
            if row.status != "RUNNING":
                return None
            now = self.app.clock.now()
            runtime = json.loads(row.runtime)
            plan = plan_abort(self.state_of(row), to_datetime(now), error, cause, runtime)
            return plan_ops(row, plan, now)

        await self._mutate(arn, decide)
        return await self.describe_execution(arn)

    async def redrive_execution(self, arn: str) -> ExecutionInfo:
        """Resume a FAILED, TIMED_OUT or ABORTED execution at the state it stopped in."""

        def decide(row: ExecutionRow) -> list[Operation] | None:
            if row.status not in REDRIVABLE:
                raise ExecutionNotRedrivable(arn, row.status)
            now = self.app.clock.now()
            state, events = redrive(self.state_of(row), to_datetime(now))
            plan = StepPlan(state, events, new_runtime(), [], None)
            return [save_op(row, plan, now), step_op(arn)]

        await self._mutate(arn, decide)
        return await self.describe_execution(arn)

    async def send_task_success(self, token: str, output: Any) -> None:
        """Complete a ``.waitForTaskToken`` task with ``output`` (any JSON value)."""
        checked_payload("output", output)
        await self._outcome(token, {"output": output})

    async def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail a ``.waitForTaskToken`` task (Retry and Catch apply to ``error``)."""
        _check_failure(error, cause)
        await self._outcome(token, {"error": error, "cause": cause})

    async def send_task_heartbeat(self, token: str) -> None:
        """Restart the task's ``HeartbeatSeconds`` clock."""
        arn, task_id = split_token(token)

        def decide(row: ExecutionRow) -> list[Operation] | None:
            runtime = json.loads(row.runtime)
            if row.status != "RUNNING" or not task_pending(runtime, task_id):
                raise TaskDoesNotExist(token)
            moved = heartbeat(runtime, task_id, to_datetime(self.app.clock.now()))
            return None if moved is None else [_resave(row, moved)]

        try:
            await self._mutate(arn, decide)
        except ExecutionDoesNotExist:
            raise TaskDoesNotExist(token) from None

    async def _outcome(self, token: str, outcome: dict[str, Any]) -> None:
        arn, task_id = split_token(token)
        row = await self.load(arn)
        if row is None or row.status != "RUNNING":
            raise TaskDoesNotExist(token)
        if not task_pending(json.loads(row.runtime), task_id):
            raise TaskDoesNotExist(token)
        await self.app.store.apply([step_op(arn, work={task_id: outcome})])

    async def _mutate(self, arn: str, decide: Decide) -> None:
        """Compare-and-set an execution: reload and decide again after a conflict."""
        for _ in range(MAX_CONFLICTS):
            row = await self.load(arn)
            if row is None:
                raise ExecutionDoesNotExist(arn)
            ops = decide(row)
            if ops is None:
                return
            try:
                await self.app.store.apply(ops, atomic=True)
            except StaleLease:
                continue
            return
        raise StoreError(f"execution {arn!r} kept changing: gave up after {MAX_CONFLICTS} tries")

    async def delete_execution(self, arn: str) -> None:
        """Forget an execution, its history and its Map Runs' children (for test harnesses
        that reuse names: a child's name derives from its parent's)."""
        children = await self.app.store.run(lambda: machine_ops.map_run_children(arn))
        for child in children:
            await self.delete_execution(child)
        await self.app.store.run(lambda: machine_ops.delete_execution(arn))


def _resave(row: ExecutionRow, runtime: dict[str, Any]) -> SaveExecution:
    return SaveExecution(
        id=row.id,
        expected=row.version,
        status=row.status,
        state=row.state,
        runtime=dumps(runtime),
        redrive_count=row.redrive_count,
    )


def _check_failure(error: str | None, cause: str | None) -> None:
    if error is not None and (not isinstance(error, str) or len(error) > MAX_ERROR):
        raise InvalidAttribute("error", error, f"a string of at most {MAX_ERROR} characters")
    if cause is not None and (not isinstance(cause, str) or len(cause) > MAX_CAUSE):
        raise InvalidAttribute("cause", "<cause>", f"a string of at most {MAX_CAUSE} characters")
