"""The Schedule Strategy Trigger: everything due in a window of minutes, recorded and set going.

For each minute of the window on a trading day, and for entries and exits, it queries every shard
of that slot on GSI2 (2 x SCHEDULE_SHARDS queries a minute, however many users there are), creates
the spec's execution record for each strategy due (EXECUTION_ENTRY#strategy#YYYYMMDD, SCHEDULED)
with a conditional write, so a second trigger finds it there, and starts one execution workflow per
minute that waits until that minute and runs the executor on each execution.

Starts are at least once: a record says its workflow is PENDING until the start succeeds, and a
retried trigger starts the PENDING ones again. The executor's conditional claim (SCHEDULED ->
IN_PROGRESS) makes the execution itself happen once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import IST, Clock, utc_iso
from shared_utils.domain.errors import Conflict
from shared_utils.domain.models import WEEKDAYS
from shared_utils.market.calendar import TradingCalendar

EXECUTION_TYPES = ("ENTRY", "EXIT")
MAX_EXECUTIONS_PER_WORKFLOW = 400  # keeps a workflow's input far below Step Functions' 256 KB


def execution_key(execution_type: str, strategy_id: str, trading_day) -> str:
    return f"EXECUTION_{execution_type}#{strategy_id}#{trading_day:%Y%m%d}"


@dataclass
class TriggerResult:
    minutes: list[str] = field(default_factory=list)
    discovery_queries: int = 0
    created: int = 0
    already_there: int = 0
    workflows_started: int = 0
    skipped_days: list[str] = field(default_factory=list)


def trigger(
    window_from: datetime,
    window_to: datetime,
    *,
    repository: ConfigurationRepository,
    calendar: TradingCalendar,
    clock: Clock,
    start_workflow: Callable[[dict[str, Any]], None],
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
        due: list[dict[str, Any]] = []
        for execution_type in EXECUTION_TYPES:
            items = _due_at(
                repository, execution_type, WEEKDAYS[day.weekday()], local.strftime("%H:%M")
            )
            result.discovery_queries += keys.SCHEDULE_SHARDS
            for item in items:
                record, created = _record(
                    repository, clock, item, execution_type, day, local.strftime("%H:%M")
                )
                result.created += created
                result.already_there += not created
                if record.get("status") == "SCHEDULED" and record.get("workflow") == "PENDING":
                    due.append(record)
        for start in range(0, len(due), MAX_EXECUTIONS_PER_WORKFLOW):
            batch = due[start : start + MAX_EXECUTIONS_PER_WORKFLOW]
            start_workflow(
                {
                    "execute_at": utc_iso(minute),
                    "executions": [
                        {
                            "user_id": r[keys.PK],
                            "sort_key": r[keys.SK],
                            "strategy_id": r["strategy_id"],
                            "execution_type": r["execution_type"],
                            "execution_date": r["execution_date"],
                        }
                        for r in batch
                    ],
                }
            )
            result.workflows_started += 1
            for record in batch:
                _mark_started(repository, record)
        minute += timedelta(minutes=1)
    return result


def _due_at(
    repository: ConfigurationRepository, execution_type: str, weekday: str, hhmm: str
) -> list[dict]:
    with ThreadPoolExecutor(max_workers=keys.SCHEDULE_SHARDS) as pool:
        shards = pool.map(
            lambda shard: repository.query_schedule_slot(execution_type, weekday, hhmm, shard),
            range(keys.SCHEDULE_SHARDS),
        )
        return [item for shard in shards for item in shard]


def _record(repository, clock, item, execution_type, day, hhmm) -> tuple[dict, bool]:
    """The execution record, created if it was not there yet: (record, created)."""
    plan = item["plan"]
    record = {
        keys.PK: item[keys.PK],
        keys.SK: execution_key(execution_type, item["strategy_id"], day),
        "entity_type": "EXECUTION",
        "strategy_id": item["strategy_id"],
        "execution_date": day.isoformat(),
        "execution_time": hhmm,
        "execution_type": execution_type,
        "total_legs": item["total_legs"],
        "total_lots": item["total_lots"],
        "brokers_involved": item["brokers_involved"],
        "status": "SCHEDULED",
        "scheduled_at": utc_iso(clock.now()),
        "workflow": "PENDING",
        "plan": plan,
        "version": 1,
    }
    try:
        repository.commit([db.put_new(record, Conflict("already scheduled"))])
        return record, True
    except Conflict:
        return repository.get(record[keys.PK], record[keys.SK]) or record, False


def _mark_started(repository, record) -> None:
    try:
        repository.commit(
            [
                db.update(
                    record[keys.PK],
                    record[keys.SK],
                    "SET #workflow = :started",
                    "#workflow = :pending",
                    Conflict("workflow already marked"),
                    names={"#workflow": "workflow"},
                    values={":started": "STARTED", ":pending": "PENDING"},
                )
            ]
        )
    except Conflict:
        return  # another trigger marked it: the executor's claim keeps the execution single


def workflow_input(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
