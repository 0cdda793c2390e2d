"""The local platform's control plane: the stack's own ASL definitions interpreted, EventBridge's
pattern semantics, the daily cron, and the scheduler on a stepped clock."""

import json
import logging
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from local_platform.asl import Execution, StateMachine, StatesError
from local_platform.engine import Scheduler, function_output, matches, next_cron_time
from local_platform.wiring import ROOT, load
from shared_utils.domain.clock import IST, SteppedClock

START = datetime(2026, 3, 2, 3, 45, tzinfo=UTC)  # 09:15 IST


def machine(name):
    spec = load().raw["state_machines"][name]
    return StateMachine(
        name, json.loads((ROOT / spec["definition"]).read_text()), dict(spec["invokes"])
    )


def test_the_master_timer_ticks_on_the_emitters_minute_boundaries_until_the_market_closes():
    calls = []

    def emitter(function, payload):
        calls.append((function, payload))
        tick = START + timedelta(minutes=len(calls))
        return {
            "trading_date": "2026-03-02",
            "market_open": len(calls) < 3,
            "next_tick": tick.isoformat().replace("+00:00", "Z"),
        }

    run = Execution(
        machine("master_timer"),
        "master-timer-2026-03-02",
        {"trading_date": "2026-03-02", "next_tick": None},
        START,
        emitter,
    )
    assert run.advance(START) == START + timedelta(minutes=1)
    assert run.advance(START + timedelta(minutes=1)) == START + timedelta(minutes=2)
    assert run.advance(START + timedelta(minutes=2)) is None
    assert run.status == "SUCCEEDED"
    assert [f for f, _ in calls] == [
        "event_emitter"
    ] * 3  # the substitution names the wired function
    assert calls[0][1] == {
        "timer_execution": "master-timer-2026-03-02",
        "trading_date": "2026-03-02",
        "scheduled_tick": None,
    }
    assert (
        calls[1][1]["scheduled_tick"] == "2026-03-02T03:46:00Z"
    )  # the previous answer's next tick


def test_the_execution_workflow_waits_then_runs_every_execution_and_one_failure_does_not_stop_the_rest():
    seen = []

    def executor(function, payload):
        seen.append(payload)
        if payload["execution"]["strategy_id"] == "broken":
            raise StatesError("RuntimeError", "the broker is down")
        return {"status": "COMPLETED", "strategy_id": payload["execution"]["strategy_id"]}

    at = "2026-03-02T04:00:00.000Z"
    document = {
        "execute_at": at,
        "executions": [{"strategy_id": "a"}, {"strategy_id": "broken"}, {"strategy_id": "c"}],
    }
    run = Execution(machine("execution_workflow"), "due-0930", document, START, executor)
    assert run.advance(START) == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    assert seen == []
    assert run.advance(datetime(2026, 3, 2, 4, 0, tzinfo=UTC)) is None
    assert run.status == "SUCCEEDED"
    assert [p["execution"]["strategy_id"] for p in seen] == [
        "a",
        "broken",
        "c",
    ]
    assert seen[0] == {"execution": {"strategy_id": "a"}, "execute_at": at}
    assert run.output[0] == {"status": "COMPLETED", "strategy_id": "a"}
    assert run.output[1]["error"] == {"Error": "RuntimeError", "Cause": "the broker is down"}


def test_a_wait_whose_time_has_passed_goes_straight_on():
    run = Execution(
        machine("execution_workflow"),
        "late",
        {"execute_at": "2026-03-02T03:00:00Z", "executions": []},
        START,
        lambda f, p: None,
    )
    assert run.advance(START) is None
    assert run.status == "SUCCEEDED"


def test_lambda_service_errors_are_retried_and_others_fail_the_task():
    attempts = []

    def flaky(function, payload):
        attempts.append(1)
        if len(attempts) < 3:
            raise StatesError("Lambda.ServiceException", "try again")
        return {"trading_date": "d", "market_open": False, "next_tick": "2026-03-02T03:46:00Z"}

    run = Execution(
        machine("master_timer"), "t", {"trading_date": "d", "next_tick": None}, START, flaky
    )
    assert run.advance(START) is None
    assert run.status == "SUCCEEDED"
    assert len(attempts) == 3

    def broken(function, payload):
        raise StatesError("KeyError", "'detail'")

    failed = Execution(
        machine("master_timer"), "t2", {"trading_date": "d", "next_tick": None}, START, broken
    )
    assert failed.advance(START) is None
    assert failed.status == "FAILED"
    assert failed.error.error == "KeyError"


def test_a_definition_the_interpreter_cannot_run_faithfully_is_refused_when_loaded():
    with pytest.raises(ValueError, match="Parallel"):
        StateMachine(
            "x",
            {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}},
            {},
        )
    with pytest.raises(ValueError, match="substitution"):
        StateMachine(
            "x",
            {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "${Missing}"},
                        "End": True,
                    }
                },
            },
            {},
        )
    with pytest.raises(ValueError, match="only arn:aws:states:::lambda:invoke"):
        StateMachine(
            "x",
            {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage",
                        "End": True,
                    }
                },
            },
            {},
        )


def test_event_patterns_match_as_eventbridge_matches_them():
    event = {
        "source": "options.trading.risk",
        "detail-type": "Check Stop Loss",
        "detail": {"phase": "ACTIVE_TRADING", "tags": ["a", "b"]},
    }
    assert matches({"source": ["options.trading.risk"], "detail-type": ["Check Stop Loss"]}, event)
    assert not matches({"source": ["options.trading.market"]}, event)
    assert matches({"source": ["x", "options.trading.risk"]}, event)  # any value of the list
    assert matches({"detail": {"phase": [{"prefix": "ACTIVE"}]}}, event)
    assert matches({"detail": {"tags": ["b"]}}, event)  # an array matches if any element does
    assert matches({"detail": {"phase": [{"anything-but": ["LUNCH_BREAK"]}]}}, event)
    assert not matches({"detail": {"phase": [{"anything-but": "ACTIVE_TRADING"}]}}, event)
    assert matches({"detail": {"missing": [{"exists": False}]}}, event)
    assert not matches({"detail": {"phase": [{"exists": False}]}}, event)


def test_the_daily_rule_fires_at_0330_utc_on_weekdays_only():
    cron = load().raw["schedules"]["MasterTimerDailyStart"]["cron_utc"]
    assert next_cron_time(cron, datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )
    assert next_cron_time(cron, datetime(2026, 3, 2, 3, 30, tzinfo=UTC)) == datetime(
        2026, 3, 3, 3, 30, tzinfo=UTC
    )
    assert next_cron_time(cron, datetime(2026, 3, 6, 4, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 3, 30, tzinfo=UTC
    )


def test_a_stepped_scheduler_runs_jobs_in_time_order_and_moves_the_clock_to_each():
    SteppedClock.start_at(START)
    clock = SteppedClock()
    scheduler = Scheduler(clock, stepped=True)
    ran = []
    scheduler.at(START + timedelta(minutes=2), "late", lambda: ran.append(("late", clock.now())))
    scheduler.at(
        START + timedelta(minutes=1),
        "early",
        lambda: (
            ran.append(("early", clock.now())),
            scheduler.submit("follow-up", lambda: ran.append(("follow-up", clock.now()))),
        ),
    )
    scheduler.at(
        START + timedelta(hours=2), "after the end", lambda: ran.append(("after", clock.now()))
    )
    scheduler.run(threading.Event(), until=START + timedelta(minutes=30))
    assert ran == [
        ("early", START + timedelta(minutes=1)),
        ("follow-up", START + timedelta(minutes=1)),
        ("late", START + timedelta(minutes=2)),
    ]
    assert clock.now() == START + timedelta(minutes=30)
    assert clock.now().astimezone(IST).strftime("%H:%M") == "09:45"


def test_a_failing_job_is_reported_and_the_rest_still_run():
    SteppedClock.start_at(START)
    scheduler = Scheduler(SteppedClock(), stepped=True, log=lambda text: None)
    ran = []
    scheduler.submit("broken", lambda: 1 / 0)
    scheduler.submit("fine", lambda: ran.append("fine"))
    scheduler.run(threading.Event(), until=START)
    assert ran == ["fine"]
    assert scheduler.failures == ["broken: ZeroDivisionError: division by zero"]


class Invocations:
    """The functions' stand-in: what was invoked, with what."""

    def __init__(self):
        self.calls = []

    def invoke(self, name, payload):
        self.calls.append((name, payload))
        return {"missed": ["sub-alice EXECUTION_ENTRY#s#20260302: due 09:30 IST; ..."]}


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        # After the close no timer runs: the trigger runs once, and marks the day's misses.
        (datetime(2026, 3, 2, 16, 0, tzinfo=IST), ["schedule_strategy_trigger"]),
        # During the session the daily rule fires at once; the timer's first tick catches up.
        (datetime(2026, 3, 2, 10, 1, tzinfo=IST), ["timer_starter"]),
        # Before the open nothing was due yet; on a holiday nothing is ever due.
        (datetime(2026, 3, 2, 8, 0, tzinfo=IST), []),
        (datetime(2026, 3, 3, 16, 0, tzinfo=IST), []),
    ],
)
def test_a_platform_started_after_its_time_covers_what_was_due_while_it_was_stopped(
    started, expected
):
    from local_platform.engine import DailyRules
    from shared_utils.market.calendar import built_in_calendar

    SteppedClock.start_at(started)
    clock, functions, lines = SteppedClock(), Invocations(), []
    scheduler = Scheduler(clock, stepped=True, log=lines.append)
    DailyRules(load(), functions, scheduler, clock, built_in_calendar(), lines.append).start()
    scheduler.run(threading.Event(), until=started)
    assert [name for name, _ in functions.calls] == expected
    if expected == ["schedule_strategy_trigger"]:
        ((_, event),) = functions.calls
        assert (event["source"], event["detail-type"]) == (
            "options.trading.scheduler",
            "Schedule Strategy Trigger",
        )
        assert event["detail"]["window"]["from"] == "2026-03-02T10:30:00.000Z"
        assert any(line.startswith("engine: MISSED sub-alice") for line in lines)


def test_a_functions_log_on_a_full_disk_loses_its_lines_without_a_traceback(tmp_path, capsys):
    """A full disk once printed a `--- Logging error ---` traceback to the console for each line a
    function logged; the function still answers, and the console says once that lines are lost."""
    log_file = tmp_path / "functions.log"
    log_file.symlink_to("/dev/full")
    outputs = []
    function_logger = logging.getLogger("a-function-on-a-full-disk")
    for attempt in range(3):
        with function_output(log_file):
            handler = logging.StreamHandler(sys.stdout)  # the thread's sink, as Powertools' is
            function_logger.addHandler(handler)
            try:
                sys.stdout.write(f"a function's log line {attempt}\n")
                function_logger.warning("a function's warning")
            finally:
                function_logger.removeHandler(handler)
            outputs.append(attempt)
    assert outputs == [0, 1, 2]
    console = capsys.readouterr().err
    assert console.count("the functions' log takes no more lines") == 1, console
    assert "Traceback" not in console, console
    assert "Logging error" not in console, console
