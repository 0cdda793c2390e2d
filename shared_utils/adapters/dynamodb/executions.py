"""Execution records in the table (EXECUTION_ENTRY#strategy#YYYYMMDD and their kin): created by a
conditional write so a second trigger finds them there, claimed SCHEDULED -> IN_PROGRESS by one
executor, finished from IN_PROGRESS only, with the metrics the execution adds in the same
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from shared_utils.adapters.dynamodb import keys, metrics
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.records import attributes, item_of, record_of, records_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import utc_iso
from shared_utils.domain.enums import ExecutionStatus, ExecutionType, ExecutionWorkflow
from shared_utils.domain.errors import Conflict
from shared_utils.engine.performance import MetricCounts
from shared_utils.engine.records import (
    ExecutionRecord,
    ExecutionRef,
    ExecutionResults,
    Found,
)

ENTITY = "EXECUTION"


class ExecutionTable:
    """The engine's ExecutionStore on the single table."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def execution_key(
        self, execution_type: ExecutionType, strategy_id: str, day: date, *qualifiers: str
    ) -> str:
        return keys.execution(execution_type, strategy_id, day, *qualifiers)

    def again(self, key: str, qualifier: str) -> str:
        return keys.again(key, qualifier)

    def create(self, record: ExecutionRecord) -> bool:
        try:
            self.repository.commit(
                [db.put_new(item_of(record, record.key, ENTITY), Conflict("exists"))]
            )
        except Conflict:
            return False
        return True

    def get(self, user_id: str, key: str) -> ExecutionRecord | None:
        item = self.repository.get(user_id, key)
        return record_of(ExecutionRecord, item) if item else None

    def mark_started(self, record: ExecutionRecord) -> None:
        try:
            self.repository.commit(
                [
                    db.update(
                        record.user_id,
                        record.key,
                        "SET #workflow = :started",
                        "#workflow = :pending",
                        Conflict("workflow already marked"),
                        names={"#workflow": "workflow"},
                        values={
                            ":started": ExecutionWorkflow.STARTED,
                            ":pending": ExecutionWorkflow.PENDING,
                        },
                    )
                ]
            )
        except Conflict:
            return  # another trigger marked it: the executor's claim keeps the execution single

    def claim(self, ref: ExecutionRef, at: datetime) -> bool:
        try:
            self.repository.commit(
                [
                    db.update(
                        ref.user_id,
                        ref.key,
                        "SET #status = :running, started_at = :now",
                        "#status = :scheduled",
                        Conflict("claimed"),
                        names={"#status": "status"},
                        values={
                            ":running": ExecutionStatus.IN_PROGRESS,
                            ":scheduled": ExecutionStatus.SCHEDULED,
                            ":now": utc_iso(at),
                        },
                    )
                ]
            )
        except Conflict:
            return False
        return True

    def finish(
        self,
        ref: ExecutionRef,
        status: ExecutionStatus,
        results: ExecutionResults,
        at: datetime,
        counts: Sequence[MetricCounts],
    ) -> None:
        self.repository.commit(
            [
                db.update(
                    ref.user_id,
                    ref.key,
                    "SET #status = :status, completed_at = :now, execution_results = :results",
                    "#status = :running",
                    Conflict("not in progress"),
                    names={"#status": "status"},
                    values={
                        ":status": status,
                        ":now": utc_iso(at),
                        ":results": attributes(results),
                        ":running": ExecutionStatus.IN_PROGRESS,
                    },
                ),
                *metrics.adds(counts),
            ]
        )

    def history(self, user_id: str, strategy_id: str | None) -> Found[ExecutionRecord]:
        items: list[dict[str, Any]] = []
        for kind in ExecutionType:
            found, _ = self.repository.query_prefix(user_id, keys.executions_of(kind, strategy_id))
            items += found
        return records_of(ExecutionRecord, items)
