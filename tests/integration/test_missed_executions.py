"""Executions whose time passed without a run: found on the next trigger, on start and after the
timer's restart, and handled by the rule the trader reads on the record. Exits are caught up while
the session is open; entries only within the strategy's grace, else MISSED with an alert."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from lambda_functions.schedule_strategy_trigger import _on_the_bus
from shared_utils.adapters.aws.execution_workflow import execution_of, workflow_payload
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.domain.clock import IST, FixedClock, utc_iso
from shared_utils.domain.models import (
    AdvancedAllocationsRequest,
    BrokerAccountCreate,
    LegsCreate,
    StrategyCreate,
)
from shared_utils.engine.emitter import catching_up, tick
from shared_utils.engine.records import Found
from shared_utils.engine.trigger import MissedAlert, trigger
from shared_utils.market.calendar import built_in_calendar
from tests.integration.test_strategy_executor import executor, paper_book
from tests.journey import ALLOCATIONS, BROKER_ACCOUNTS, LEGS, STRATEGY

CALENDAR = built_in_calendar()
USER = "sub-alice"


def monday(hh: int, mm: int, ss: float = 0.4) -> datetime:
    return datetime(2026, 3, 2, hh, mm, int(ss), int((ss % 1) * 1e6), tzinfo=IST)


def iron_condor(service, entry_time="09:30", exit_time="09:45", **changes):
    for account in BROKER_ACCOUNTS:
        service.broker_accounts.register(USER, BrokerAccountCreate(**account))
    body = {
        **STRATEGY,
        "entry_time": entry_time,
        "exit_time": exit_time,
        "entry_days": ["MONDAY"],
        "exit_days": ["MONDAY"],
        **changes,
    }
    strategy = service.strategies.create(USER, StrategyCreate.model_validate(body))
    service.legs.add(USER, strategy.strategy_id, LegsCreate.model_validate(LEGS).legs)
    service.allocations.create(
        USER,
        strategy.strategy_id,
        AdvancedAllocationsRequest.model_validate(ALLOCATIONS).allocations,
    )
    return strategy.strategy_id


class Throttled(Exception):
    """Step Functions' ThrottlingException, as boto3 raises it."""


class Platform:
    """The trigger as the Lambda runs it, with workflows that run their executions at once (the
    Express workflow waits until `execute_at`, which for a late run is now) and a bus that keeps
    the alerts."""

    def __init__(self, repository):
        self.repository, self.started, self.alerts, self.reports = repository, [], [], []
        self.bus_refuses = False  # PutEvents answers every entry with an error
        self.throttled = False  # StartExecution raises (Step Functions throttles)

    def publish(self, entries):
        if self.bus_refuses:
            return entries
        self.alerts.append(entries)
        return []

    def trigger(self, at: datetime, window_from: datetime | None = None, minutes: int = 5):
        clock = FixedClock(at)
        stores = engine_tables(self.repository, clock)
        start = (window_from or at).replace(second=0, microsecond=0)

        def start_workflow(execute_at, refs):
            if self.throttled:
                raise Throttled("Rate exceeded")
            payload = workflow_payload(execute_at, refs)
            self.started.append(payload)
            if execute_at <= at:  # due now: the workflow's Wait is over at once
                for ref in payload["executions"]:
                    self.reports.append(executor(self.repository, clock).execute(execution_of(ref)))

        return trigger(
            start,
            start + timedelta(minutes=minutes - 1),
            schedule=stores.schedule,
            executions=stores.executions,
            calendar=CALENDAR,
            clock=clock,
            start_workflow=start_workflow,
            missed_alert=MissedAlert("options.trading.scheduler", "Execution Missed", self.publish),
        )

    def record(self, kind: str, strategy_id: str):
        return self.repository.get(USER, f"EXECUTION_{kind}#{strategy_id}#20260302")


def test_down_from_0920_to_1000_the_entry_is_missed_with_an_alert_and_the_exit_caught_up(
    service, repository
):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="09:45")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)  # the last window covered before it went down
    assert platform.record("ENTRY", strategy_id) is None

    result = platform.trigger(monday(10, 0))  # back at 10:00: its first trigger covers the gap
    assert result.covered_from == utc_iso(monday(9, 20, 0))

    entry = platform.record("ENTRY", strategy_id)
    assert entry["status"] == "MISSED"
    assert entry["reason"] == (
        "due 09:30 IST; not started by 09:35 IST (the strategy's 5-minute grace; the platform was"
        " not running); found at 10:00 IST: never entered"
    )
    assert (entry["due_at"], entry["found_at"]) == (
        utc_iso(monday(9, 30, 0)),
        utc_iso(monday(10, 0)),
    )
    assert "GSI2PK" not in entry  # no longer waiting for an executor

    (alert,) = [a for batch in platform.alerts for a in batch]
    assert (alert["Source"], alert["DetailType"]) == (
        "options.trading.scheduler",
        "Execution Missed",
    )
    detail = json.loads(alert["Detail"])
    assert (detail["strategy_id"], detail["execution_type"], detail["status"]) == (
        strategy_id,
        "ENTRY",
        "MISSED",
    )
    assert detail["reason"] == entry["reason"]

    exit_ = platform.record("EXIT", strategy_id)
    assert exit_["status"] == "COMPLETED"  # caught up at 10:00: it had nothing to close
    assert (exit_["late_minutes"], exit_["due_at"]) == (15, utc_iso(monday(9, 45, 0)))
    assert "exits are caught up while the session is open" in exit_["reason"]
    assert [p["execute_at"] for p in platform.started] == [utc_iso(monday(10, 0, 0))]
    assert len(paper_book(repository, FixedClock(monday(10, 0)), "ZERODHA123").order_book()) == 0


def test_an_entry_at_0958_found_on_the_restart_at_1001_is_entered_late_and_says_so(
    service, repository
):
    strategy_id = iron_condor(service, entry_time="09:58", exit_time="15:15")
    platform = Platform(repository)
    platform.trigger(monday(9, 54))  # covers 09:54-09:58: the workflow of 09:58 waits ...
    assert platform.record("ENTRY", strategy_id)["workflow"] == "STARTED"
    # ... and dies with the platform. Restarted at 10:01, the timer's first tick triggers at once.
    platform.trigger(monday(10, 1))
    entry = platform.record("ENTRY", strategy_id)
    assert entry["status"] == "COMPLETED"
    assert entry["late_minutes"] == 3
    assert entry["reason"] == (
        "09:58 IST entry run 3 min late at 10:01 IST (its execution workflow did not run it:"
        " it failed, or the platform stopped), within the strategy's 5-minute grace"
    )
    assert len(paper_book(repository, FixedClock(monday(10, 1)), "ZERODHA123").order_book()) == 4


def test_an_entry_never_recorded_is_entered_late_within_its_grace(service, repository):
    strategy_id = iron_condor(service, entry_time="09:58", exit_time="15:15")
    platform = Platform(repository)
    platform.trigger(monday(9, 49))  # covered up to 09:54, then down
    platform.trigger(monday(10, 1))
    entry = platform.record("ENTRY", strategy_id)
    assert (entry["status"], entry["late_minutes"]) == ("COMPLETED", 3)
    assert "(the platform was not running)" in entry["reason"]


def test_a_grace_of_zero_misses_an_entry_a_minute_late(service, repository):
    strategy_id = iron_condor(service, entry_time="09:58", exit_time="15:15", entry_grace_minutes=0)
    platform = Platform(repository)
    platform.trigger(monday(9, 49))
    platform.trigger(monday(9, 59))
    assert platform.record("ENTRY", strategy_id)["status"] == "MISSED"
    assert platform.reports == []


def test_an_exit_found_after_the_close_is_missed(service, repository):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:20")
    platform = Platform(repository)
    platform.trigger(monday(9, 29))  # the entry's workflow starts and runs at 09:30
    platform.trigger(monday(15, 40), window_from=monday(15, 40))
    exit_ = platform.record("EXIT", strategy_id)
    assert exit_["status"] == "MISSED"
    assert exit_["reason"].startswith("due 15:20 IST; not run before the close at 15:30 IST")


def test_a_workflow_that_died_is_caught_within_minutes_by_the_next_regular_trigger(
    service, repository
):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:15")
    platform = Platform(repository)
    platform.trigger(monday(9, 29, 0.1))  # starts the 09:30 workflow, which never runs
    assert platform.reports == []
    platform.trigger(monday(9, 34))  # the regular 09:34 trigger: 4 minutes late, within 5
    assert platform.record("ENTRY", strategy_id)["status"] == "COMPLETED"
    assert platform.record("ENTRY", strategy_id)["late_minutes"] == 4


def test_a_record_still_waiting_within_minutes_of_its_time_is_left_to_its_workflow(
    service, repository
):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:15")
    platform = Platform(repository)
    platform.trigger(monday(9, 29, 0.1))
    platform.trigger(monday(9, 31))  # a minute after its time: the workflow may be claiming it
    record = platform.record("ENTRY", strategy_id)
    assert (record["status"], record.get("late_minutes")) == ("SCHEDULED", None)


def test_a_second_trigger_after_the_catch_up_changes_nothing(service, repository):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="09:45")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)
    platform.trigger(monday(10, 0))
    before = (platform.record("ENTRY", strategy_id), platform.record("EXIT", strategy_id))
    again = platform.trigger(monday(10, 4))
    assert (again.late, again.missed, again.covered_from) == ([], [], utc_iso(monday(10, 4, 0)))
    assert (platform.record("ENTRY", strategy_id), platform.record("EXIT", strategy_id)) == before
    assert len(platform.alerts) == 1


def test_the_first_trigger_of_the_day_covers_from_the_open(service, repository):
    iron_condor(service, entry_time="09:30", exit_time="15:15")
    result = Platform(repository).trigger(monday(10, 4))
    assert result.covered_from == utc_iso(monday(9, 15, 0))
    assert len(result.missed) == 1


def test_the_timers_first_tick_and_a_tick_after_a_gap_put_the_trigger_on_the_bus():
    class Bus:
        def __init__(self):
            self.entries = []

        def put_events(self, Entries):  # noqa: N803 (boto3's keyword)
            self.entries += Entries
            return {"FailedEntryCount": 0, "Entries": [{} for _ in Entries]}

    at = monday(10, 1)
    for scheduled, expected in (
        (None, True),  # the first tick of a timer run (started late, or restarted)
        (monday(9, 30, 0), True),  # the timer stalled for half an hour
        (monday(10, 1, 0), False),  # on time: the trigger runs at minutes ending 4 and 9
    ):
        bus = Bus()
        result = tick(at, CALENDAR, bus, "bus", catch_up=catching_up(at, scheduled))
        assert ("schedule_strategy_trigger" in result.emitted) is expected
        if expected:
            (trigger_event,) = [
                e for e in bus.entries if e["DetailType"] == "Schedule Strategy Trigger"
            ]
            assert json.loads(trigger_event["Detail"])["window"]["from"] == utc_iso(
                monday(10, 1, 0)
            )


def test_the_trader_sees_missed_and_late_in_the_schedule_and_the_history(
    service, repository, alice
):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="09:45")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)
    platform.trigger(monday(10, 0))
    schedule = alice.get("/options/executions/schedule?date=2026-03-02").body["items"]
    assert [(r["execution_type"], r["status"]) for r in schedule] == [
        ("ENTRY", "MISSED"),
        ("EXIT", "COMPLETED"),
    ]
    assert schedule[0]["reason"].startswith("due 09:30 IST; not started by 09:35 IST")
    history = alice.get(f"/options/executions/history?strategy_id={strategy_id}").body["items"]
    by_type = {h["execution_type"]: h for h in history}
    assert by_type["ENTRY"]["status"] == "MISSED"
    assert by_type["ENTRY"]["due_at"] == utc_iso(monday(9, 30, 0))
    assert by_type["EXIT"]["late_minutes"] == 15


def test_the_first_trigger_of_a_day_finds_what_the_day_before_missed_after_the_platform_stopped(
    service, repository
):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:20")
    platform = Platform(repository)
    platform.trigger(monday(9, 30))  # Monday's entry runs at 09:30 ...
    platform.trigger(monday(13, 59))  # ... and the platform stops at 14:04
    # Tuesday 3 March is a holiday; it is back on Wednesday before the open.
    wednesday = datetime(2026, 3, 4, 9, 4, 0, 400000, tzinfo=IST)
    result = platform.trigger(wednesday)
    exit_ = platform.record("EXIT", strategy_id)
    assert exit_["status"] == "MISSED"
    assert exit_["reason"].startswith("due 15:20 IST; not run before the close at 15:30 IST")
    assert len(result.missed) == 1
    assert [json.loads(a["Detail"])["execution_type"] for b in platform.alerts for a in b] == [
        "EXIT"
    ]
    assert platform.trigger(wednesday + timedelta(minutes=5)).missed == []


def test_a_missed_entry_is_alerted_although_a_workflow_start_fails_after_it(service, repository):
    # Down from 09:20; back at 10:00, its trigger marks the 09:30 entry MISSED and then fails to
    # start the 10:02 exit's workflow (throttled): the retried trigger still alerts the entry.
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="10:02")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)
    platform.throttled = True
    with pytest.raises(Throttled):
        platform.trigger(monday(10, 0))
    assert platform.record("ENTRY", strategy_id)["status"] == "MISSED"
    assert platform.alerts == []
    platform.throttled = False
    retried = platform.trigger(monday(10, 0, 30))
    (alert,) = [a for batch in platform.alerts for a in batch]
    assert json.loads(alert["Detail"])["execution_type"] == "ENTRY"
    assert retried.alerted == 1
    assert "GSI2PK" not in platform.record("ENTRY", strategy_id)  # alerted: no longer waiting
    platform.trigger(monday(10, 4))
    assert len(platform.alerts) == 1  # alerted once


def test_the_alert_goes_out_before_a_late_run_is_started(service, repository):
    # The 09:45 exit is caught up at 10:00 and its start is throttled: the entry's alert is out.
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="09:45")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)
    platform.throttled = True
    with pytest.raises(Throttled):
        platform.trigger(monday(10, 0))
    (alert,) = [a for batch in platform.alerts for a in batch]
    assert json.loads(alert["Detail"])["strategy_id"] == strategy_id


def test_an_alert_the_bus_refused_is_kept_and_sent_again(service, repository):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="09:45")
    platform = Platform(repository)
    platform.trigger(monday(9, 19), minutes=1)
    platform.bus_refuses = True
    refused = platform.trigger(monday(10, 0))
    assert refused.alerted == 0
    assert refused.alerts_failed == [f"{USER} EXECUTION_ENTRY#{strategy_id}#20260302"]
    assert any("Execution Missed alert not published" in e for e in refused.errors)
    platform.bus_refuses = False
    again = platform.trigger(monday(10, 4))
    assert (again.alerted, again.alerts_failed) == (1, [])
    (alert,) = [a for batch in platform.alerts for a in batch]
    assert json.loads(alert["Detail"])["reason"] == platform.record("ENTRY", strategy_id)["reason"]


def test_the_look_back_reaches_the_last_day_the_platform_ran(service, repository):
    # It ran on Monday until 13:59, was stopped through Wednesday (Tuesday is a holiday) and is
    # back on Thursday: Monday's exit and all of Wednesday are covered, each MISSED with an alert.
    strategy_id = iron_condor(
        service,
        entry_time="09:30",
        exit_time="15:20",
        entry_days=["MONDAY", "WEDNESDAY"],
        exit_days=["MONDAY", "WEDNESDAY"],
    )
    platform = Platform(repository)
    platform.trigger(monday(9, 30))
    platform.trigger(monday(13, 59))
    thursday = datetime(2026, 3, 5, 9, 4, 0, 400000, tzinfo=IST)
    result = platform.trigger(thursday)
    assert platform.record("EXIT", strategy_id)["status"] == "MISSED"
    wednesday = [
        repository.get(USER, f"EXECUTION_{kind}#{strategy_id}#20260304")["status"]
        for kind in ("ENTRY", "EXIT")
    ]
    assert wednesday == ["MISSED", "MISSED"]
    assert len(result.missed) == 3
    assert sorted(
        json.loads(a["Detail"])["execution_date"] for b in platform.alerts for a in b
    ) == ["2026-03-02", "2026-03-04", "2026-03-04"]


def test_no_look_back_past_the_watermarks_lifetime(service, repository):
    iron_condor(service, entry_time="09:30", exit_time="15:20")
    platform = Platform(repository)
    platform.trigger(monday(9, 30))
    platform.trigger(monday(13, 59))
    nine_days_later = datetime(2026, 3, 11, 9, 4, 0, 400000, tzinfo=IST)
    assert platform.trigger(nine_days_later).missed == []


class StaleIndex:
    """The executions table with GSI2 as it may read right after a write in AWS (eventually
    consistent): every record still as it was created (SCHEDULED, its workflow PENDING)."""

    def __init__(self, table):
        self.table, self.created = table, {}

    def __getattr__(self, name):
        return getattr(self.table, name)

    def create(self, record):
        created = self.table.create(record)
        if created:
            self.created[record.user_id, record.key] = record
        return created

    def awaiting(self, day):
        return Found([r for r in self.created.values() if r.execution_date == day], [])


def _trigger_with_stale_index(repository, at, stale, starts):
    stores = engine_tables(repository, FixedClock(at))
    stale.table = stores.executions
    start = at.replace(second=0, microsecond=0)
    return trigger(
        start,
        start + timedelta(minutes=4),
        schedule=stores.schedule,
        executions=stale,
        calendar=CALENDAR,
        clock=FixedClock(at),
        start_workflow=lambda execute_at, refs: starts.append((execute_at, list(refs))),
    )


def test_an_execution_started_on_time_is_not_run_late_from_a_stale_index(service, repository):
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:15")
    stale, starts = StaleIndex(None), []
    result = _trigger_with_stale_index(repository, monday(9, 30), stale, starts)
    assert [(at, len(refs)) for at, refs in starts] == [(monday(9, 30, 0).astimezone(UTC), 1)]
    assert result.late == []
    record = repository.get(USER, f"EXECUTION_ENTRY#{strategy_id}#20260302")
    assert (record["workflow"], record.get("late_minutes")) == ("STARTED", None)


def test_a_started_execution_read_pending_from_a_stale_index_is_not_started_again(
    service, repository
):
    # Started at 09:28 for 09:30; at 09:33 its workflow has not claimed it yet (it is about to),
    # and the index still reads it PENDING: the record's STARTED workflow keeps it from a restart.
    strategy_id = iron_condor(service, entry_time="09:30", exit_time="15:15")
    stale, starts = StaleIndex(None), []
    _trigger_with_stale_index(repository, monday(9, 28), stale, starts)
    assert len(starts) == 1
    result = _trigger_with_stale_index(repository, monday(9, 33), stale, starts)
    assert (len(starts), result.late, result.missed) == (1, [], [])
    record = repository.get(USER, f"EXECUTION_ENTRY#{strategy_id}#20260302")
    assert (record["status"], record["workflow"]) == ("SCHEDULED", "STARTED")


def test_the_lambdas_publisher_hands_back_the_alerts_the_bus_refused():
    class HalfBroken:
        def put_events(self, Entries):  # noqa: N803 (boto3's keyword)
            results = [
                {"ErrorCode": "ThrottlingException"} if "refused" in e["Detail"] else {}
                for e in Entries
            ]
            return {"FailedEntryCount": sum(bool(r) for r in results), "Entries": results}

    entries = [
        {"Source": "s", "DetailType": "Execution Missed", "Detail": detail}
        for detail in ('{"a": "sent"}', '{"b": "refused"}')
    ]
    assert _on_the_bus(HalfBroken(), "bus", entries) == [entries[1]]
