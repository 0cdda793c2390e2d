"""The Schedule Strategy Trigger: everything due in a window of minutes, recorded and set going, and
everything whose time passed without a run, found and handled by a rule the trader can read.

For each minute of the window on a trading day, and for entries and exits, it asks the schedule for
everything due at that slot (a fixed number of queries a minute, however many users there are),
creates the spec's execution record for each strategy due (today's entry or exit of it, SCHEDULED)
with a conditional write, so a second trigger finds it there, and starts one execution workflow per
minute that waits until that minute and runs the executor on each execution.

Starts are at least once: a record says its workflow is PENDING until the start succeeds, and a
retried trigger starts the PENDING ones again. The executor's conditional claim (SCHEDULED ->
IN_PROGRESS) makes the execution itself happen once.

Nothing is missed silently. The trigger keeps a watermark per trading day (the end of the last
window it covered) and covers [watermark, end of window]: after a gap (the platform was down, the
timer died or started late) the minutes of the gap are covered too; on the first run of a day the
watermark is the session's open, and it looks back through the trading days before to the last one
with a watermark (within WATERMARK_KEPT_DAYS, the watermark's lifetime): the rest of that day's
session, and the whole session of every trading day after it that passed while the platform was
stopped, are covered too. What it finds due before now, and the SCHEDULED records that no executor
claimed by STALE_AFTER past their minute (their workflow died), are handled by one rule:

- an exit runs now, late, for as long as the session is open (closing lowers risk); after the close
  it is MISSED;
- an entry runs now, late, within the strategy's `entry_grace_minutes`; past it, it is MISSED and
  never entered.

A late run says so on its record (`due_at`, `found_at`, `late_minutes`, `reason`); a MISSED one
says why, and raises an "Execution Missed" alert on the platform's bus. The alert is published
before any late run is started, and a MISSED record stays in the day's awaiting index until its
alert is on the bus: a trigger that failed after marking it (a throttled start, a failed PutEvents
entry) leaves it there, and the next trigger alerts it again. Never silently late.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from shared_utils.configuration.schedule import ScheduleEntry
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.enums import (
    ExecutionStatus,
    ExecutionType,
    ExecutionWorkflow,
    weekday_of,
)
from shared_utils.engine.ports import ExecutionStore, Schedule
from shared_utils.engine.records import ExecutionRecord, ExecutionRef
from shared_utils.market.calendar import Session, TradingCalendar

SCHEDULED_TYPES = (ExecutionType.ENTRY, ExecutionType.EXIT)
# How many of a minute's record writes are in flight at once: one pool for the process (a Lambda's
# or the local platform's), far below DynamoDB's per-partition limits and boto3's 10-connection
# pool's reuse (threads past it open connections of their own).
TRIGGER_WRITES = 10
_TRIGGER_WRITES = ThreadPoolExecutor(max_workers=TRIGGER_WRITES, thread_name_prefix="trigger-write")
Item = TypeVar("Item")
Done = TypeVar("Done")
MAX_EXECUTIONS_PER_WORKFLOW = 400  # keeps a workflow's input far below Step Functions' 256 KB
# A started workflow claims its executions at their minute; one still unclaimed this long after it
# has died (or its start was lost).
STALE_AFTER = timedelta(minutes=2)
# How long a day's watermark is kept (the table's TTL removes it after): the look-back's bound.
WATERMARK_KEPT_DAYS = 7
NOT_RUNNING = "the platform was not running"
# A started workflow that never ran its execution: it died, or the platform stopped with it (a
# local platform's workflows do not outlive it), which the record alone cannot tell apart.
WORKFLOW_DIED = "its execution workflow did not run it: it failed, or the platform stopped"

# Starts the workflow of one due minute: when to run, and the executions due then.
StartWorkflow = Callable[[datetime, Sequence[ExecutionRef]], object]
# Puts alert entries (PutEvents' shape, without the bus) on the platform's bus: the entries that
# still failed after its retries.
PublishAlerts = Callable[[list[dict[str, Any]]], Sequence[dict[str, Any]]]


@dataclass
class TriggerResult:
    minutes: list[str] = field(default_factory=list)
    discovery_queries: int = 0
    created: int = 0
    already_there: int = 0
    workflows_started: int = 0
    skipped_days: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    covered_from: str | None = None
    late: list[str] = field(default_factory=list)  # the reason of each execution run late
    missed: list[str] = field(default_factory=list)  # the reason of each execution MISSED
    alerted: int = 0  # MISSED executions whose alert is on the bus
    alerts_failed: list[str] = field(default_factory=list)  # and those whose alert is not (yet)


@dataclass(frozen=True)
class MissedAlert:
    """Where an "Execution Missed" alert goes: its source and detail type, and the publisher."""

    source: str
    detail_type: str
    publish: PublishAlerts


def trigger(
    window_from: datetime,
    window_to: datetime,
    *,
    schedule: Schedule,
    executions: ExecutionStore,
    calendar: TradingCalendar,
    clock: Clock,
    start_workflow: StartWorkflow,
    missed_alert: MissedAlert | None = None,
) -> TriggerResult:
    result = TriggerResult()
    now = clock.now()
    day = ist_date(window_from)
    catch_up = CatchUp(executions, calendar, clock, result)
    covered_until = executions.covered_until(day)
    if covered_until is None:
        _look_back(day, schedule, executions, calendar, clock, start_workflow, catch_up)
    minute = _covered_from(window_from, covered_until, calendar.session_on(day))
    result.covered_from = utc_iso(minute)
    _cover(minute, window_to, schedule, executions, calendar, clock, start_workflow, catch_up)
    catch_up.handle_stale(day)
    # The alert first: a start that fails below must not leave a MISSED execution unannounced.
    _alert(missed_alert, executions, catch_up.missed, result)
    _start(executions, start_workflow, _minute(now), catch_up.run_now, result)
    executions.cover(day, window_to + timedelta(minutes=1))
    return result


def _alert(
    missed_alert: MissedAlert | None,
    executions: ExecutionStore,
    missed: Sequence[ExecutionRecord],
    result: TriggerResult,
) -> None:
    """Publish the MISSED executions' alerts; each one on the bus leaves the awaiting index, each
    that failed stays in it (the next trigger alerts it again) and is reported as an error.
    Without a bus (a trigger built to test the schedule alone) they wait in the index."""
    if missed_alert is None or not missed:
        return
    entries = [(record, _alert_entry(missed_alert, record)) for record in missed]
    failed = missed_alert.publish([entry for _, entry in entries])
    for record, entry in entries:
        if entry in failed:
            result.alerts_failed.append(f"{record.user_id} {record.key}")
        else:
            executions.mark_alerted(record)
            result.alerted += 1
    if result.alerts_failed:
        result.errors.append(
            f"Execution Missed alert not published for {', '.join(result.alerts_failed)}"
            " (kept to alert again on the next trigger)"
        )


def _cover(
    minute: datetime,
    window_to: datetime,
    schedule: Schedule,
    executions: ExecutionStore,
    calendar: TradingCalendar,
    clock: Clock,
    start_workflow: StartWorkflow,
    catch_up: CatchUp,
) -> None:
    """Every minute from `minute` to `window_to`: what is due later than now starts its workflow,
    what was due before now (the platform was not running then) goes to the catch-up rule."""
    result, now_minute = catch_up.result, _minute(clock.now())
    while minute <= window_to:
        local = minute.astimezone(IST)
        if not calendar.is_trading_day(local.date()):
            if local.date().isoformat() not in result.skipped_days:
                result.skipped_days.append(local.date().isoformat())
            minute += timedelta(minutes=1)
            continue
        result.minutes.append(utc_iso(minute))
        due = [
            record
            for record in _due_at(schedule, executions, clock, minute, result)
            if record.status is ExecutionStatus.SCHEDULED
            and record.workflow is ExecutionWorkflow.PENDING
        ]
        if minute < now_minute:
            for record in due:
                catch_up.handle(record, NOT_RUNNING)
        else:
            _start(executions, start_workflow, minute, due, result)
        minute += timedelta(minutes=1)


def _look_back(
    today: date,
    schedule: Schedule,
    executions: ExecutionStore,
    calendar: TradingCalendar,
    clock: Clock,
    start_workflow: StartWorkflow,
    catch_up: CatchUp,
) -> None:
    """The first run of a trading day looks back through the trading days before to the last one
    the platform ran on (it has a watermark): the rest of that day's session and every session
    after it are covered (all of them are past: their entries and exits are MISSED) and their
    unclaimed records are found. Nothing is looked back on when no watermark is found within
    WATERMARK_KEPT_DAYS (a new installation, or one stopped longer than a watermark is kept)."""
    passed: list[tuple[date, datetime | None]] = []
    day = today
    while True:
        day = calendar.trading_day_on_or_before(day - timedelta(days=1))
        if day < today - timedelta(days=WATERMARK_KEPT_DAYS):
            return
        covered_until = executions.covered_until(day)
        passed.append((day, covered_until))
        if covered_until is not None:
            break
    for day, covered_until in reversed(passed):
        session = calendar.session_on(day)
        if session is None:
            continue
        start = covered_until or datetime.combine(day, session.opens, IST)
        close = session.close_at()
        if start < close:
            _cover(
                start.astimezone(UTC),
                close - timedelta(minutes=1),
                schedule,
                executions,
                calendar,
                clock,
                start_workflow,
                catch_up,
            )
            executions.cover(day, close)
        catch_up.handle_stale(day)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _covered_from(
    window_from: datetime, covered_until: datetime | None, session: Session | None
) -> datetime:
    """Where this run starts: the window, or further back to the watermark (or, on the day's first
    run, the session's open) when a gap lies before the window."""
    start = window_from.astimezone(UTC).replace(second=0, microsecond=0)
    if covered_until is None and session is not None:
        covered_until = datetime.combine(session.day, session.opens, IST)
    if covered_until is not None and covered_until < start:
        return covered_until.astimezone(UTC)
    return start


def _due_at(
    schedule: Schedule,
    executions: ExecutionStore,
    clock: Clock,
    minute: datetime,
    result: TriggerResult,
) -> list[ExecutionRecord]:
    """The execution records of everything due at one minute, created where they were not yet."""
    local = minute.astimezone(IST)
    day, hhmm = local.date(), local.strftime("%H:%M")
    weekday = weekday_of(day)
    if weekday is None:  # a weekend session (a budget day): no schedule names the day
        return []
    due: list[ScheduleEntry] = []
    for execution_type in SCHEDULED_TYPES:
        entries = schedule.due_at(execution_type, weekday, hhmm)
        result.discovery_queries += schedule.queries_per_slot
        # A schedule item that does not read is reported: everyone else's minute still runs.
        result.errors += [f"{utc_iso(minute)} {u}" for u in entries.unreadable]
        due += entries.records
    records = []
    for record, created in _each(lambda entry: _record(executions, clock, entry, day, hhmm), due):
        result.created += created
        result.already_there += not created
        records.append(record)
    return records


def _start(
    executions: ExecutionStore,
    start_workflow: StartWorkflow,
    minute: datetime,
    due: Sequence[ExecutionRecord],
    result: TriggerResult,
) -> None:
    for start in range(0, len(due), MAX_EXECUTIONS_PER_WORKFLOW):
        batch = due[start : start + MAX_EXECUTIONS_PER_WORKFLOW]
        start_workflow(minute, [record.ref for record in batch])
        result.workflows_started += 1
        _each(executions.mark_started, batch)


def _each(write: Callable[[Item], Done], items: Sequence[Item]) -> list[Done]:
    """One write per item (each its own conditional write: one strategy's record already there
    must not stop another's), TRIGGER_WRITES at a time: a minute with N strategies due waits for
    N / TRIGGER_WRITES round trips, not N. The answers in the items' order; the first failure is
    raised once every write has ended (the next trigger finds the records left PENDING)."""
    if len(items) <= 1:
        return [write(item) for item in items]
    writes = [_TRIGGER_WRITES.submit(write, item) for item in items]
    wait(writes)
    return [done.result() for done in writes]


class CatchUp:
    """The rule for an execution found after its time: what runs now (late), what is MISSED."""

    def __init__(
        self,
        executions: ExecutionStore,
        calendar: TradingCalendar,
        clock: Clock,
        result: TriggerResult,
    ):
        self.executions, self.calendar, self.clock, self.result = (
            executions,
            calendar,
            clock,
            result,
        )
        self.run_now: list[ExecutionRecord] = []
        self.missed: list[ExecutionRecord] = []
        self._seen: set[tuple[str, str]] = set()

    @property
    def now(self) -> datetime:
        """When it is found: read as it happens (a record created a moment ago must not look
        found before it was scheduled)."""
        return self.clock.now()

    def handle_stale(self, day: date) -> None:
        """The day's SCHEDULED records no executor claimed by STALE_AFTER past their minute: a
        PENDING one's start was lost, a STARTED one's workflow died. The index is eventually
        consistent (a record started a moment ago may still read PENDING), so only a record due
        before this minute less STALE_AFTER is stale, and the change is made only if the record
        still holds the workflow read here. The MISSED records whose alert is not yet on the bus
        are in the index too: they are alerted again."""
        found = self.executions.awaiting(day)
        self.result.errors += [f"awaiting {u}" for u in found.unreadable]
        stale_before = _minute(self.now) - STALE_AFTER
        for record in found.records:
            if record.status is ExecutionStatus.MISSED:
                if (record.user_id, record.key) not in self._seen:
                    self._seen.add((record.user_id, record.key))
                    self.missed.append(record)
                continue
            if record.status is not ExecutionStatus.SCHEDULED or due_at(record) >= stale_before:
                continue
            started = record.workflow is ExecutionWorkflow.STARTED
            self.handle(record, WORKFLOW_DIED if started else NOT_RUNNING)

    def handle(self, record: ExecutionRecord, cause: str) -> None:
        if (record.user_id, record.key) in self._seen:
            return
        self._seen.add((record.user_id, record.key))
        due, now = due_at(record), self.now
        session = self.calendar.session_on(record.execution_date)
        late = int((now - due).total_seconds() // 60)
        if record.execution_type is ExecutionType.EXIT:
            close = session.close_at() if session else due
            if now < close:
                self._late(
                    record,
                    due,
                    now,
                    f"{_hhmm(due)} IST exit run {late} min late at "
                    f"{_hhmm(now)} IST ({cause}): exits are caught up while the "
                    f"session is open",
                )
            else:
                self._miss(
                    record,
                    due,
                    now,
                    f"due {_hhmm(due)} IST; not run before the close at "
                    f"{_hhmm(close)} IST ({cause}); found at {_hhmm(now)} IST",
                )
            return
        grace = record.plan.entry_grace_minutes
        if now - due <= timedelta(minutes=grace):
            self._late(
                record,
                due,
                now,
                f"{_hhmm(due)} IST entry run {late} min late at "
                f"{_hhmm(now)} IST ({cause}), within the strategy's {grace}-minute grace",
            )
        else:
            self._miss(
                record,
                due,
                now,
                f"due {_hhmm(due)} IST; not started by "
                f"{_hhmm(due + timedelta(minutes=grace))} IST (the strategy's {grace}-minute "
                f"grace; {cause}); found at {_hhmm(now)} IST: never entered",
            )

    def _late(self, record: ExecutionRecord, due: datetime, now: datetime, reason: str) -> None:
        if self.executions.run_late(record, due, now, reason):
            self.run_now.append(record)
            self.result.late.append(f"{record.user_id} {record.key}: {reason}")

    def _miss(self, record: ExecutionRecord, due: datetime, now: datetime, reason: str) -> None:
        if self.executions.mark_missed(record, due, now, reason):
            self.missed.append(
                record.model_copy(
                    update={
                        "status": ExecutionStatus.MISSED,
                        "reason": reason,
                        "due_at": utc_iso(due),
                        "found_at": utc_iso(now),
                    }
                )
            )
            self.result.missed.append(f"{record.user_id} {record.key}: {reason}")


def due_at(record: ExecutionRecord) -> datetime:
    """When a scheduled execution was due: its trading day and HH:MM, in IST."""
    return datetime.combine(
        record.execution_date, time.fromisoformat(record.execution_time), IST
    ).astimezone(UTC)


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M")


def _alert_entry(alert: MissedAlert, record: ExecutionRecord) -> dict[str, Any]:
    detail = {
        "user_id": record.user_id,
        "strategy_id": record.strategy_id,
        "strategy_name": record.plan.strategy_name,
        "execution_type": record.execution_type,
        "execution_date": record.execution_date.isoformat(),
        "execution_time": record.execution_time,
        "status": record.status,
        "reason": record.reason,
        "due_at": record.due_at,
        "found_at": record.found_at,
    }
    return {"Source": alert.source, "DetailType": alert.detail_type, "Detail": json.dumps(detail)}


def _record(
    executions: ExecutionStore, clock: Clock, entry: ScheduleEntry, day: date, hhmm: str
) -> tuple[ExecutionRecord, bool]:
    """The execution record, created if it was not there yet: (record, created)."""
    record = ExecutionRecord.of_entry(
        entry,
        key=executions.execution_key(entry.execution_type, entry.strategy_id, day),
        day=day,
        hhmm=hhmm,
        status=ExecutionStatus.SCHEDULED,
        workflow=ExecutionWorkflow.PENDING,
        scheduled_at=utc_iso(clock.now()),
    )
    if executions.create(record):
        return record, True
    return executions.get(record.user_id, record.key) or record, False
