"""The Schedule Strategy Trigger: everything due in a window of minutes, recorded and set going.

For each minute of the window on a trading day, and for entries and exits, it asks the schedule for
everything due at that slot (a fixed number of queries a minute, however many users there are),
creates the spec's execution record for each strategy due (today's entry or exit of it, SCHEDULED)
with a conditional write, so a second trigger finds it there, and starts one execution workflow per
minute that waits until that minute and runs the executor on each execution.

Starts are at least once: a record says its workflow is PENDING until the start succeeds, and a
retried trigger starts the PENDING ones again. The executor's conditional claim (SCHEDULED ->
IN_PROGRESS) makes the execution itself happen once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shared_utils.configuration.schedule import ScheduleEntry
from shared_utils.domain.clock import IST, Clock, utc_iso
from shared_utils.domain.enums import (
    ExecutionStatus,
    ExecutionType,
    ExecutionWorkflow,
    weekday_of,
)
from shared_utils.engine.ports import ExecutionStore, Schedule
from shared_utils.engine.records import ExecutionRecord, ExecutionRef
from shared_utils.market.calendar import TradingCalendar

SCHEDULED_TYPES = (ExecutionType.ENTRY, ExecutionType.EXIT)
MAX_EXECUTIONS_PER_WORKFLOW = 400  # keeps a workflow's input far below Step Functions' 256 KB

# Starts the workflow of one due minute: when to run, and the executions due then.
StartWorkflow = Callable[[datetime, Sequence[ExecutionRef]], object]


@dataclass
class TriggerResult:
    minutes: list[str] = field(default_factory=list)
    discovery_queries: int = 0
    created: int = 0
    already_there: int = 0
    workflows_started: int = 0
    skipped_days: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def trigger(
    window_from: datetime,
    window_to: datetime,
    *,
    schedule: Schedule,
    executions: ExecutionStore,
    calendar: TradingCalendar,
    clock: Clock,
    start_workflow: StartWorkflow,
) -> TriggerResult:
    result = TriggerResult()
    minute = window_from.astimezone(UTC).replace(second=0, microsecond=0)
    while minute <= window_to:
        local = minute.astimezone(IST)
        day = local.date()
        if not calendar.is_trading_day(day):
            if day.isoformat() not in result.skipped_days:
                result.skipped_days.append(day.isoformat())
            minute += timedelta(minutes=1)
            continue
        result.minutes.append(utc_iso(minute))
        hhmm = local.strftime("%H:%M")
        due: list[ExecutionRecord] = []
        weekday = weekday_of(day)
        for execution_type in SCHEDULED_TYPES:
            if weekday is None:  # a weekend session (a budget day): no schedule names the day
                break
            entries = schedule.due_at(execution_type, weekday, hhmm)
            result.discovery_queries += schedule.queries_per_slot
            # A schedule item that does not read is reported: everyone else's minute still runs.
            result.errors += [f"{utc_iso(minute)} {u}" for u in entries.unreadable]
            for entry in entries.records:
                record, created = _record(executions, clock, entry, day, hhmm)
                result.created += created
                result.already_there += not created
                if (
                    record.status is ExecutionStatus.SCHEDULED
                    and record.workflow is ExecutionWorkflow.PENDING
                ):
                    due.append(record)
        for start in range(0, len(due), MAX_EXECUTIONS_PER_WORKFLOW):
            batch = due[start : start + MAX_EXECUTIONS_PER_WORKFLOW]
            start_workflow(minute, [record.ref for record in batch])
            result.workflows_started += 1
            for record in batch:
                executions.mark_started(record)
        minute += timedelta(minutes=1)
    return result


def _record(
    executions: ExecutionStore, clock: Clock, entry: ScheduleEntry, day: date, hhmm: str
) -> tuple[ExecutionRecord, bool]:
    """The execution record, created if it was not there yet: (record, created)."""
    record = ExecutionRecord(
        key=executions.execution_key(entry.execution_type, entry.strategy_id, day),
        user_id=entry.user_id,
        strategy_id=entry.strategy_id,
        execution_date=day,
        execution_time=hhmm,
        execution_type=entry.execution_type,
        total_legs=entry.total_legs,
        total_lots=entry.total_lots,
        brokers_involved=entry.brokers_involved,
        status=ExecutionStatus.SCHEDULED,
        scheduled_at=utc_iso(clock.now()),
        workflow=ExecutionWorkflow.PENDING,
        plan=entry.plan,
        version=1,
    )
    if executions.create(record):
        return record, True
    return executions.get(record.user_id, record.key) or record, False
