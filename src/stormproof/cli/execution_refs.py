"""How the CLI names an execution: its ARN, ``MACHINE/NAME``, or just its NAME when only
one machine has an execution of that name; and waiting for one to finish."""

from __future__ import annotations

import asyncio

from stormproof.app import App
from stormproof.cli.output import CliError
from stormproof.errors import ExecutionDoesNotExist
from stormproof.machines.records import ExecutionInfo
from stormproof.storage import machine_ops

#: How many recent executions a bare NAME is looked up among.
SEARCH_LIMIT = 10_000
POLL = 0.2


async def resolve(app: App, reference: str) -> str:
    """The ARN of the execution ``reference`` names (see the module docstring)."""
    if reference.startswith("arn:"):
        return reference
    machine, sep, name = reference.rpartition("/")
    if sep:
        row = await app.store.run(lambda: machine_ops.execution_by_name(machine, name))
        if row is None:
            raise ExecutionDoesNotExist(reference)
        return row.id
    found = [i for i in await app.list_executions(limit=SEARCH_LIMIT) if i.name == reference]
    if not found:
        raise ExecutionDoesNotExist(reference)
    if len(found) > 1:
        machines = ", ".join(sorted({i.machine for i in found}))
        raise CliError(
            f"execution name {reference!r} is used by machines {machines}: "
            f"give MACHINE/{reference} or the ARN"
        )
    return found[0].arn


async def wait_until_done(app: App, arn: str, timeout: float) -> ExecutionInfo:
    """Poll until the execution is no longer RUNNING; a one-line error after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    info = await app.describe_execution(arn)
    while info.status == "RUNNING":
        if loop.time() >= deadline:
            raise CliError(
                f"execution {arn} still RUNNING after {timeout:g} s "
                "(is a worker of its app running? 'stormproof worker APP')"
            )
        await asyncio.sleep(POLL)
        info = await app.describe_execution(arn)
    return info
