"""Trading days, sessions and phases in IST, from data the exchanges publish."""

import json
from datetime import UTC, date, datetime, timedelta

import exchange_calendars
import pytest

from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import _BUILT_IN, TradingCalendar, built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_holidays_are_exactly_the_exchanges_closures_in_exchange_calendars_xbom(year):
    xbom = exchange_calendars.get_calendar("XBOM", start=f"{year}-01-01", end=f"{year}-12-31")
    calendar = built_in_calendar()
    day, mismatches = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5 and calendar.is_trading_day(day) != xbom.is_session(day.isoformat()):
            mismatches.append(day.isoformat())
        day += timedelta(days=1)
    assert mismatches == []


def test_2026_holidays_include_the_late_election_closure_and_the_tuesdays():
    calendar = built_in_calendar()
    for day in ("2026-01-15", "2026-03-03", "2026-03-31", "2026-11-24"):
        assert not calendar.is_trading_day(date.fromisoformat(day))
    assert calendar.holiday_name(date(2026, 1, 15)).startswith("Municipal election")
    assert calendar.trading_day_on_or_before(date(2026, 3, 3)) == date(2026, 3, 2)
    assert calendar.next_trading_day(date(2026, 3, 27)) == date(2026, 3, 30)


@pytest.mark.parametrize(
    ("clock", "phase"),
    [
        ("08:59", "AFTER_HOURS"),
        ("09:00", "PRE_OPEN"),
        ("09:15", "MARKET_OPEN"),
        ("09:30", "EARLY_TRADING"),
        ("10:30", "ACTIVE_TRADING"),
        ("13:00", "LUNCH_BREAK"),
        ("14:00", "AFTERNOON_TRADING"),
        ("15:20", "PRE_CLOSE"),
        ("15:29", "PRE_CLOSE"),
        ("15:30", "AFTER_HOURS"),
    ],
)
def test_the_specs_market_phases_on_a_trading_day(clock, phase):
    hour, minute = map(int, clock.split(":"))
    assert built_in_calendar().phase_at(datetime(2026, 3, 2, hour, minute, tzinfo=IST)) == phase


def test_holidays_weekends_and_special_sessions():
    calendar = built_in_calendar()
    assert calendar.phase_at(datetime(2026, 3, 3, 10, 0, tzinfo=IST)) == "CLOSED"
    assert calendar.phase_at(datetime(2026, 3, 7, 10, 0, tzinfo=IST)) == "CLOSED"
    muhurat = datetime(2025, 10, 21, 14, 0, tzinfo=IST)
    assert calendar.phase_at(muhurat) == "SPECIAL_SESSION"
    assert calendar.is_open(muhurat)
    assert not calendar.is_open(datetime(2025, 10, 21, 10, 0, tzinfo=IST))
    assert not calendar.is_trading_day(date(2025, 10, 21))  # still a holiday, for expiries too
    assert calendar.is_open(datetime(2026, 3, 2, 3, 45, tzinfo=UTC))  # 09:15 IST
    assert not calendar.is_open(datetime(2026, 3, 2, 9, 10, tzinfo=IST))


def test_an_ad_hoc_closure_is_a_line_of_data(tmp_path):
    raw = json.loads(_BUILT_IN.read_text())
    raw["holidays"]["2026-03-10"] = "Ad hoc closure"
    changed = tmp_path / "calendar.json"
    changed.write_text(json.dumps(raw))
    calendar = TradingCalendar.from_file(changed)
    assert not calendar.is_trading_day(date(2026, 3, 10))
    nifty = built_in_catalog().get("NIFTY")
    weekly = ExpiryCalendar(calendar).resolve(nifty, "WEEKLY", 0, date(2026, 3, 4))
    assert weekly.date == date(2026, 3, 9)
    assert weekly.nominal == date(2026, 3, 10)
