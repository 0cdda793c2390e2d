"""Execution records in the table (EXECUTION_ENTRY#strategy#YYYYMMDD and their kin): created by a
conditional write so a second trigger finds them there, claimed SCHEDULED -> IN_PROGRESS by one
executor, finished from IN_PROGRESS only, with the metrics the execution adds in the same
transaction.

A scheduled record waits in a sparse GSI2 partition of its day (AWAITING_EXECUTIONS#YYYYMMDD#nn,
sharded like the schedule) from its creation until an executor claims it, it is SKIPPED, or it is
MISSED and its alert is on the bus: the trigger finds the ones whose workflow died, and the MISSED
ones still to alert, with SCHEDULE_SHARDS queries, never a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from shared_utils.adapters.dynamodb import keys, metrics
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.records import attributes, item_of, record_of, records_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.adapters.dynamodb.run_marks import RunMarks
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
from shared_utils.engine.trigger import due_at

ENTITY = "EXECUTION"
INDEX_ATTRIBUTES = f"{keys.GSI2_PK}, {keys.GSI2_SK}"


def _awaiting_index(record: ExecutionRecord) -> dict[str, str]:
    return {
        keys.GSI2_PK: keys.awaiting_executions(
            record.execution_date, keys.schedule_shard(f"{record.user_id}#{record.strategy_id}")
        ),
        keys.GSI2_SK: f"{utc_iso(due_at(record))}#{record.user_id}#{record.key}",
    }


class ExecutionTable(RunMarks):
    """The engine's ExecutionStore on the single table (its watermark and run claims: RunMarks)."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def execution_key(
        self, execution_type: ExecutionType, strategy_id: str, day: date, *qualifiers: str
    ) -> str:
        return keys.execution(execution_type, strategy_id, day, *qualifiers)

    def again(self, key: str, qualifier: str) -> str:
        return keys.again(key, qualifier)

    def create(self, record: ExecutionRecord) -> bool:
        # Only what a workflow is to run waits in the index: manual runs and closes run at once.
        awaiting = (
            _awaiting_index(record)
            if record.status is ExecutionStatus.SCHEDULED
            and record.workflow is ExecutionWorkflow.PENDING
            else {}
        )
        try:
            self.repository.commit(
                [db.put_new(item_of(record, record.key, ENTITY, **awaiting), Conflict("exists"))]
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
                        f"SET #status = :running, started_at = :now REMOVE {INDEX_ATTRIBUTES}",
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

    def runs_on(
        self, user_id: str, execution_type: ExecutionType, strategy_id: str, day: date
    ) -> Found[ExecutionRecord]:
        items, _ = self.repository.query_prefix(
            user_id, keys.execution(execution_type, strategy_id, day)
        )
        return records_of(ExecutionRecord, items)

    def awaiting(self, day: date) -> Found[ExecutionRecord]:
        items = self.repository.query_index_partitions(
            (keys.GSI2, keys.GSI2_PK, keys.awaiting_executions(day, shard))
            for shard in range(keys.SCHEDULE_SHARDS)
        )
        return records_of(ExecutionRecord, items)

    def run_late(
        self, record: ExecutionRecord, due_at: datetime, found_at: datetime, reason: str
    ) -> bool:
        late = int((found_at - due_at).total_seconds() // 60)
        return self._from_scheduled(
            record,
            "SET due_at = :due, found_at = :found, late_minutes = :late, reason = :reason,"
            " #workflow = :pending",
            {
                ":due": utc_iso(due_at),
                ":found": utc_iso(found_at),
                ":late": late,
                ":reason": reason,
                ":pending": ExecutionWorkflow.PENDING,
            },
            same_workflow=True,
        )

    def mark_missed(
        self, record: ExecutionRecord, due_at: datetime, found_at: datetime, reason: str
    ) -> bool:
        return self._from_scheduled(
            record,
            # It stays in the awaiting index until its alert is on the bus (mark_alerted).
            "SET #status = :missed, due_at = :due, found_at = :found, reason = :reason,"
            " completed_at = :found",
            {
                ":missed": ExecutionStatus.MISSED,
                ":due": utc_iso(due_at),
                ":found": utc_iso(found_at),
                ":reason": reason,
            },
            same_workflow=True,
        )

    def mark_alerted(self, record: ExecutionRecord) -> None:
        try:
            self.repository.commit(
                [
                    db.update(
                        record.user_id,
                        record.key,
                        f"SET alerted = :alerted REMOVE {INDEX_ATTRIBUTES}",
                        "#status = :missed",
                        Conflict("not missed"),
                        names={"#status": "status"},
                        values={":alerted": True, ":missed": ExecutionStatus.MISSED},
                    )
                ]
            )
        except Conflict:
            return  # only a MISSED record is alerted; nothing else leaves the index this way

    def skip(self, record: ExecutionRecord, reason: str) -> bool:
        return self._from_scheduled(
            record,
            f"SET #status = :skipped, reason = :reason REMOVE {INDEX_ATTRIBUTES}",
            {":skipped": ExecutionStatus.SKIPPED, ":reason": reason},
        )

    def unskip(self, record: ExecutionRecord, reason: str) -> bool:
        index = _awaiting_index(record)
        try:
            self.repository.commit(
                [
                    db.update(
                        record.user_id,
                        record.key,
                        "SET #status = :scheduled, #workflow = :pending, #ipk = :ipk, #isk = :isk"
                        " REMOVE reason",
                        "#status = :skipped AND reason = :reason",
                        Conflict("not skipped by this run"),
                        names={
                            "#status": "status",
                            "#workflow": "workflow",
                            "#ipk": keys.GSI2_PK,
                            "#isk": keys.GSI2_SK,
                        },
                        values={
                            ":scheduled": ExecutionStatus.SCHEDULED,
                            ":pending": ExecutionWorkflow.PENDING,
                            ":skipped": ExecutionStatus.SKIPPED,
                            ":reason": reason,
                            ":ipk": index[keys.GSI2_PK],
                            ":isk": index[keys.GSI2_SK],
                        },
                    )
                ]
            )
        except Conflict:
            return False
        return True

    def _from_scheduled(
        self,
        record: ExecutionRecord,
        expression: str,
        values: dict[str, Any],
        *,
        same_workflow: bool = False,
    ) -> bool:
        """Change a record that is still SCHEDULED (an executor's claim wins over this change), and
        with `same_workflow` whose workflow is still the one `record` was read with (a record read
        PENDING from the eventually consistent index may have been started meanwhile)."""
        names = {"#status": "status", "#workflow": "workflow"}
        condition = "#status = :scheduled"
        if same_workflow:
            condition += " AND #workflow = :read_workflow"
            values = {**values, ":read_workflow": record.workflow}
        elif "#workflow" not in expression:
            del names["#workflow"]
        try:
            self.repository.commit(
                [
                    db.update(
                        record.user_id,
                        record.key,
                        expression,
                        condition,
                        Conflict("no longer scheduled"),
                        names=names,
                        values={**values, ":scheduled": ExecutionStatus.SCHEDULED},
                    )
                ]
            )
        except Conflict:
            return False
        return True

    def history(self, user_id: str, strategy_id: str | None) -> Found[ExecutionRecord]:
        items: list[dict[str, Any]] = []
        for kind in ExecutionType:
            found, _ = self.repository.query_prefix(user_id, keys.executions_of(kind, strategy_id))
            items += found
        return records_of(ExecutionRecord, items)
