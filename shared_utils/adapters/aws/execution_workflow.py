"""The execution workflow's JSON: what the schedule trigger starts it with, what each Map item hands
the executor, and what the executor answers.

An execution is named by its user and its record's key, which the JSON calls `sort_key` (the table's
attribute name, kept so that workflows started before this shape existed still run).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared_utils.domain.clock import utc_iso
from shared_utils.engine.records import ExecutionRef, ExecutionReport


def execution_payload(ref: ExecutionRef) -> dict[str, Any]:
    return {
        "user_id": ref.user_id,
        "sort_key": ref.key,
        "strategy_id": ref.strategy_id,
        "execution_type": ref.execution_type,
        "execution_date": ref.execution_date,
    }


def execution_of(payload: dict[str, Any]) -> ExecutionRef:
    return ExecutionRef(
        payload["user_id"],
        payload["sort_key"],
        payload["strategy_id"],
        payload["execution_type"],
        payload["execution_date"],
    )


def workflow_payload(execute_at: datetime, executions: Sequence[ExecutionRef]) -> dict[str, Any]:
    """One due minute: when to run, and every execution due then."""
    return {
        "execute_at": utc_iso(execute_at),
        "executions": [execution_payload(ref) for ref in executions],
    }


def workflow_input(execute_at: datetime, executions: Sequence[ExecutionRef]) -> str:
    return json.dumps(workflow_payload(execute_at, executions), separators=(",", ":"))


def report_payload(report: ExecutionReport) -> dict[str, Any]:
    """The executor's answer: status, sort_key and the results' fields side by side."""
    flat: dict[str, Any] = {"status": report.status, "sort_key": report.key}
    if report.results is not None:
        flat.update(report.results.model_dump(mode="python"))
    return flat
