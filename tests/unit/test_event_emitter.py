"""The master timer's tick: the spec's events by phase, on minute boundaries with no drift."""

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_utils.domain.clock import IST
from shared_utils.engine.emitter import publish, tick
from shared_utils.market.calendar import built_in_calendar

CALENDAR = built_in_calendar()


class RecordingBus:
    def __init__(self, fail_first: int = 0, always_fail: bool = False):
        self.calls, self.fail_first, self.always_fail = [], fail_first, always_fail

    def put_events(self, Entries):  # noqa: N803 (boto3's keyword)
        self.calls.append(Entries)
        failing = self.always_fail or len(self.calls) <= self.fail_first
        results = [
            {"ErrorCode": "InternalFailure"} if failing else {"EventId": "x"} for _ in Entries
        ]
        return {"FailedEntryCount": len(Entries) if failing else 0, "Entries": results}


def at(hour, minute, second=0.3, day=(2026, 3, 2)):
    return datetime(*day, hour, minute, int(second), int(second % 1 * 1e6), tzinfo=IST)


@pytest.mark.parametrize(
    ("moment", "phase", "emitted"),
    [
        (at(9, 0), "PRE_OPEN", ["refresh_market_data"]),
        (at(9, 4), "PRE_OPEN", ["schedule_strategy_trigger", "refresh_market_data"]),
        (
            at(9, 15),
            "MARKET_OPEN",
            ["check_stop_loss", "check_duplicate_orders", "refresh_market_data"],
        ),
        (
            at(9, 29),
            "MARKET_OPEN",
            [
                "schedule_strategy_trigger",
                "check_stop_loss",
                "check_duplicate_orders",
                "refresh_market_data",
            ],
        ),
        (
            at(13, 2),
            "LUNCH_BREAK",
            ["check_stop_loss", "check_duplicate_orders", "refresh_market_data"],
        ),
        (at(13, 3), "LUNCH_BREAK", []),
        (
            at(15, 19),
            "AFTERNOON_TRADING",
            [
                "schedule_strategy_trigger",
                "check_stop_loss",
                "check_duplicate_orders",
                "refresh_market_data",
            ],
        ),
        (
            at(15, 25),
            "PRE_CLOSE",
            ["check_stop_loss", "check_duplicate_orders", "refresh_market_data"],
        ),
    ],
)
def test_the_specs_events_are_due_by_phase(moment, phase, emitted):
    bus = RecordingBus()
    result = tick(moment, CALENDAR, bus, "options-bus")
    assert (result.phase, result.emitted) == (phase, emitted)
    entries = [entry for call in bus.calls for entry in call]
    assert all(entry["EventBusName"] == "options-bus" for entry in entries)
    assert [e["DetailType"] for e in entries] == [
        {
            "schedule_strategy_trigger": "Schedule Strategy Trigger",
            "check_stop_loss": "Check Stop Loss",
            "check_duplicate_orders": "Check Duplicate Orders",
            "refresh_market_data": "Refresh Market Data",
        }[name]
        for name in emitted
    ]


def test_the_schedule_trigger_covers_its_own_minute_and_the_next_four():
    bus = RecordingBus()
    tick(at(9, 24), CALENDAR, bus, "b")
    import json

    detail = json.loads(
        next(e for e in bus.calls[0] if e["DetailType"] == "Schedule Strategy Trigger")["Detail"]
    )
    assert detail["window"] == {
        "from": "2026-03-02T03:54:00.000Z",
        "to": "2026-03-02T03:58:00.000Z",
    }  # 09:24-09:28 IST
    assert detail["trading_date"] == "2026-03-02"
    assert detail["priority"] == "HIGH"


def test_a_whole_day_ticks_on_minute_boundaries_without_drift_and_stops_at_the_close():
    rng = random.Random(3)
    now, ticks = at(9, 0, 0.2), []
    while True:
        result = tick(now, CALENDAR, RecordingBus(), "b")
        ticks.append(now)
        if not result.market_open:
            break
        # The Wait ends at the next boundary; the emitter then runs up to 2.5 s late.
        now = datetime.fromisoformat(result.next_tick.replace("Z", "+00:00")) + timedelta(
            seconds=rng.uniform(0.05, 2.5)
        )
    assert len(ticks) == 390  # 09:00 to 15:29, one a minute
    assert all(
        t.second <= 2 for t in ticks
    )  # every tick within 2.5 s of its minute: no accumulated drift
    assert ticks[-1].astimezone(IST).strftime("%H:%M") == "15:29"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 6 * 3600 + 29 * 60), st.floats(0, 59.999))
def test_the_next_tick_is_always_the_next_minute_boundary(seconds, extra):
    now = at(9, 0, 0) + timedelta(seconds=seconds, microseconds=int(extra * 1e6) % 1_000_000)
    result = tick(now, CALENDAR, RecordingBus(), "b")
    next_tick = datetime.fromisoformat(result.next_tick.replace("Z", "+00:00"))
    assert next_tick.second == 0
    assert next_tick.microsecond == 0
    assert now < next_tick <= now + timedelta(seconds=60)


def test_a_holiday_stops_the_timer_at_once_and_a_special_session_keeps_it_to_its_close():
    holiday = tick(at(9, 0, day=(2026, 3, 3)), CALENDAR, RecordingBus(), "b")
    assert (holiday.market_open, holiday.emitted, holiday.phase) == (False, [], "CLOSED")
    muhurat_morning = tick(at(9, 0, day=(2025, 10, 21)), CALENDAR, RecordingBus(), "b")
    assert muhurat_morning.market_open
    assert muhurat_morning.emitted == []
    muhurat = tick(at(14, 0, day=(2025, 10, 21)), CALENDAR, RecordingBus(), "b")
    assert muhurat.phase == "SPECIAL_SESSION"
    assert "check_stop_loss" in muhurat.emitted
    assert not tick(at(14, 44, day=(2025, 10, 21)), CALENDAR, RecordingBus(), "b").market_open


def test_events_go_in_batches_of_ten_and_failures_are_retried_once_then_reported():
    entries = [{"DetailType": "Check Stop Loss", "Source": "s", "Detail": "{}"} for _ in range(23)]
    bus = RecordingBus()
    assert publish(bus, entries) == []
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    flaky = RecordingBus(fail_first=1)
    assert publish(flaky, entries[:4]) == []
    assert len(flaky.calls) == 2
    broken = RecordingBus(always_fail=True)
    assert publish(broken, entries[:2]) == ["check_stop_loss", "check_stop_loss"]
