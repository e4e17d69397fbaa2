"""What the execution API returns and raises, and the small rules beside it.

:class:`ExecutionInfo` is ``DescribeExecution`` (``as_dict`` gives AWS's field names);
ARNs, task tokens and the 256 KB payload limit live here so every module agrees on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stormproof.core import identity, json_limits
from stormproof.errors import InvalidAttribute, TaskDoesNotExist
from stormproof.storage.machine_ops import ExecutionRow

#: AWS's payload quota for execution input/output and task results (UTF-8 bytes).
MAX_PAYLOAD_BYTES = 262_144
REGION = identity.REGION
ACCOUNT = identity.ACCOUNT
DEFAULT_ROLE_ARN = identity.DEFAULT_ROLE_ARN
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


def machine_arn(machine: str) -> str:
    """The ARN AWS would give the state machine."""
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"


def machine_name_of(reference: str) -> str:
    """A machine name from a name or a state machine ARN."""
    if reference.startswith("arn:") and ":stateMachine:" in reference:
        return reference.split(":stateMachine:", 1)[1].split(":", 1)[0]
    return reference


def split_token(token: str) -> tuple[str, str]:
    """``(execution ARN, task id)`` of a task token (``<execution ARN>:task-<n>``)."""
    arn, _, task = str(token).rpartition(":")
    if not arn or not task.startswith("task-"):
        raise TaskDoesNotExist(str(token))
    return arn, task


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept (as AWS writes payloads)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def checked_payload(field: str, value: Any) -> str:
    """JSON text of ``value``, or InvalidAttribute when not JSON or over 256 KB."""
    text = json_limits.dumps(field, value, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidAttribute(
            field, f"<{size} bytes>", f"at most {MAX_PAYLOAD_BYTES} bytes of UTF-8 JSON"
        )
    return text


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)


def iso_time(epoch: float | None) -> str | None:
    """ISO-8601 UTC text of an epoch time."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ExecutionInfo:
    """One execution as ``describe_execution``/``list_executions`` return it."""

    arn: str
    machine: str
    name: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_time: float
    stop_time: float | None
    redrive_count: int
    #: The Map Run of a distributed Map's child execution.
    map_run: str | None = None

    @classmethod
    def from_row(cls, row: ExecutionRow) -> ExecutionInfo:
        """From a stored row."""
        return cls(
            row.id,
            row.machine,
            row.name,
            row.status,
            json.loads(row.input) if row.input else None,
            json.loads(row.output) if row.output is not None else None,
            row.error,
            row.cause,
            row.start_time,
            row.stop_time,
            row.redrive_count,
            row.map_run,
        )

    def as_dict(self) -> dict[str, Any]:
        """AWS's ``DescribeExecution`` shape (input and output as JSON text)."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": machine_arn(self.machine),
            "name": self.name,
            "status": self.status,
            "startDate": iso_time(self.start_time),
            "input": dumps(self.input),
            "redriveCount": self.redrive_count,
        }
        if self.stop_time is not None:
            out["stopDate"] = iso_time(self.stop_time)
        if self.status == "SUCCEEDED":
            out["output"] = dumps(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.map_run is not None:
            out["mapRunArn"] = self.map_run
        return out
