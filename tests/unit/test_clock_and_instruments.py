"""Time and instrument data, injected and dated."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from lambda_functions.environment import clock_from_environment
from shared_utils.domain.clock import (
    IST,
    FixedClock,
    SimulatedClock,
    SystemClock,
    ist_date,
    utc_iso,
)
from shared_utils.domain.instruments import built_in_catalog


def test_stored_times_are_utc_iso_with_z():
    assert utc_iso(datetime(2026, 3, 2, 9, 30, tzinfo=IST)) == "2026-03-02T04:00:00.000Z"
    with pytest.raises(ValueError):  # noqa: PT011 (which words refuse it is not the contract)
        utc_iso(datetime(2026, 3, 2, 9, 30))  # noqa: DTZ001 (a naive time is what is refused)


def test_the_trading_date_is_the_ist_date():
    assert ist_date(datetime(2026, 3, 1, 19, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_a_simulated_clock_runs_at_its_speed_from_its_anchor():
    anchor = time.time() - 10
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 25, tzinfo=IST), speed=60, anchor=anchor)
    elapsed = clock.now() - datetime(2026, 3, 2, 9, 25, tzinfo=IST)
    assert timedelta(minutes=10) <= elapsed < timedelta(minutes=11)
    with pytest.raises(ValueError):  # noqa: PT011 (which words refuse it is not the contract)
        SimulatedClock(datetime(2026, 3, 2, tzinfo=IST), speed=0)


def test_the_environment_chooses_the_clock():
    assert isinstance(clock_from_environment({}), SystemClock)
    clock = clock_from_environment(
        {
            "PLATFORM_CLOCK_START": "2026-03-02T09:25:00+05:30",
            "PLATFORM_CLOCK_SPEED": "2",
            "PLATFORM_CLOCK_ANCHOR": str(time.time()),
        }
    )
    assert isinstance(clock, SimulatedClock)
    assert clock.speed == 2
    assert clock.now() >= datetime(2026, 3, 2, 9, 25, tzinfo=IST)


def test_a_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 3, 2, 9, 25, tzinfo=IST))
    clock.advance(minutes=5)
    assert clock.now() == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def test_lot_sizes_belong_to_the_contracts_expiry():
    nifty = built_in_catalog().get("NIFTY")
    assert nifty.lot_size_for_expiry(date(2024, 3, 28)) == 50
    assert nifty.lot_size_for_expiry(date(2024, 6, 27)) == 25
    assert nifty.lot_size_for_expiry(date(2025, 6, 26)) == 75
    assert nifty.lot_size_for_expiry(date(2026, 3, 2)) == 65


def test_weekly_expiries_exist_only_where_the_exchange_lists_them():
    catalog = built_in_catalog()
    assert catalog.get("NIFTY").has_weekly_expiries_on(date(2026, 3, 2))
    assert catalog.get("SENSEX").has_weekly_expiries_on(date(2026, 3, 2))
    assert not catalog.get("BANKNIFTY").has_weekly_expiries_on(date(2026, 3, 2))
    assert catalog.get("BANKNIFTY").has_weekly_expiries_on(date(2024, 6, 3))
    assert catalog.get("NIFTY").expiry_rule_on(date(2026, 3, 2)).weekly == "TUESDAY"
    assert catalog.get("NIFTY").expiry_rule_on(date(2025, 3, 3)).weekly == "THURSDAY"
    assert set(catalog.underlyings) >= {"NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY", "SENSEX"}
