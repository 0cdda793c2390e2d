"""Expiry dates for NIFTY, BANKNIFTY and SENSEX across 2025 and 2026, holidays included, worked out
by hand from the exchanges' rules: NSE Thursday until August 2025 and Tuesday after, BSE Tuesday in
January-August 2025 and Thursday after, monthly on the last such day, moved to the previous trading
day when the exchange is closed."""

from datetime import date, datetime, time

import pytest

from shared_utils.domain.clock import IST
from shared_utils.domain.enums import ExpiryRollover, ExpiryType
from shared_utils.domain.errors import InvalidInput
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar, ExpiryNotTradable, NoSuchExpiry
from shared_utils.market.symbols import angelone_symbol, trading_symbol, zerodha_symbol

EXPIRIES = ExpiryCalendar(built_in_calendar())


def listed(underlying, on, count):
    return [
        (e.date.isoformat(), e.type[0])
        for e in EXPIRIES.expiries(
            built_in_catalog().get(underlying), date.fromisoformat(on), count
        )
    ]


CASES = [
    # Mahavir Jayanti (Thu 10 Apr) and Maharashtra Day (Thu 1 May) move NIFTY's weeklies to Wednesday.
    (
        "NIFTY",
        "2025-04-01",
        [
            ("2025-04-03", "W"),
            ("2025-04-09", "W"),
            ("2025-04-17", "W"),
            ("2025-04-24", "M"),
            ("2025-04-30", "W"),
            ("2025-05-08", "W"),
        ],
    ),
    # The move from Thursday to Tuesday on 1 September 2025.
    (
        "NIFTY",
        "2025-08-18",
        [
            ("2025-08-21", "W"),
            ("2025-08-28", "M"),
            ("2025-09-02", "W"),
            ("2025-09-09", "W"),
            ("2025-09-16", "W"),
            ("2025-09-23", "W"),
            ("2025-09-30", "M"),
        ],
    ),
    # Diwali (Tue 21 Oct 2025) moves the weekly to Monday.
    (
        "NIFTY",
        "2025-10-13",
        [("2025-10-14", "W"), ("2025-10-20", "W"), ("2025-10-28", "M"), ("2025-11-04", "W")],
    ),
    # 2026's Tuesday holidays: 3 Mar (weekly) and 31 Mar (monthly) move to Monday.
    (
        "NIFTY",
        "2026-02-23",
        [
            ("2026-02-24", "M"),
            ("2026-03-02", "W"),
            ("2026-03-10", "W"),
            ("2026-03-17", "W"),
            ("2026-03-24", "W"),
            ("2026-03-30", "M"),
            ("2026-04-07", "W"),
        ],
    ),
    (
        "NIFTY",
        "2026-11-02",
        [
            ("2026-11-03", "W"),
            ("2026-11-09", "W"),
            ("2026-11-17", "W"),
            ("2026-11-23", "M"),
            ("2026-12-01", "W"),
        ],
    ),
    # An expiry on the day itself still counts.
    ("NIFTY", "2026-03-02", [("2026-03-02", "W"), ("2026-03-10", "W")]),
    # BANKNIFTY: monthlies only; last Thursday in 2025 until August, last Tuesday since.
    (
        "BANKNIFTY",
        "2025-01-01",
        [
            ("2025-01-30", "M"),
            ("2025-02-27", "M"),
            ("2025-03-27", "M"),
            ("2025-04-24", "M"),
            ("2025-05-29", "M"),
            ("2025-06-26", "M"),
            ("2025-07-31", "M"),
            ("2025-08-28", "M"),
            ("2025-09-30", "M"),
            ("2025-10-28", "M"),
            ("2025-11-25", "M"),
            ("2025-12-30", "M"),
        ],
    ),
    (
        "BANKNIFTY",
        "2026-01-01",
        [
            ("2026-01-27", "M"),
            ("2026-02-24", "M"),
            ("2026-03-30", "M"),
            ("2026-04-28", "M"),
            ("2026-05-26", "M"),
            ("2026-06-30", "M"),
            ("2026-07-28", "M"),
            ("2026-08-25", "M"),
            ("2026-09-29", "M"),
            ("2026-10-27", "M"),
            ("2026-11-23", "M"),
            ("2026-12-29", "M"),
        ],
    ),
    # SENSEX: Tuesday from January 2025, Thursday from September 2025.
    (
        "SENSEX",
        "2025-01-01",
        [
            ("2025-01-07", "W"),
            ("2025-01-14", "W"),
            ("2025-01-21", "W"),
            ("2025-01-28", "M"),
            ("2025-02-04", "W"),
        ],
    ),
    (
        "SENSEX",
        "2025-08-18",
        [
            ("2025-08-19", "W"),
            ("2025-08-26", "M"),
            ("2025-09-04", "W"),
            ("2025-09-11", "W"),
            ("2025-09-18", "W"),
            ("2025-09-25", "M"),
        ],
    ),
    # Gandhi Jayanti (Thu 2 Oct 2025) and Christmas (Thu 25 Dec 2025, the monthly) move to Wednesday.
    (
        "SENSEX",
        "2025-09-29",
        [
            ("2025-10-01", "W"),
            ("2025-10-09", "W"),
            ("2025-10-16", "W"),
            ("2025-10-23", "W"),
            ("2025-10-30", "M"),
        ],
    ),
    ("SENSEX", "2025-12-15", [("2025-12-18", "W"), ("2025-12-24", "M"), ("2026-01-01", "W")]),
    # The election holiday (Thu 15 Jan 2026), and monthlies on 26 Mar and 28 May 2026.
    (
        "SENSEX",
        "2026-01-12",
        [("2026-01-14", "W"), ("2026-01-22", "W"), ("2026-01-29", "M"), ("2026-02-05", "W")],
    ),
    ("SENSEX", "2026-03-16", [("2026-03-19", "W"), ("2026-03-25", "M"), ("2026-04-02", "W")]),
    ("SENSEX", "2026-05-18", [("2026-05-21", "W"), ("2026-05-27", "M"), ("2026-06-04", "W")]),
]


@pytest.mark.parametrize(("underlying", "on", "expected"), CASES)
def test_expiries_match_the_exchanges_calendars(underlying, on, expected):
    assert listed(underlying, on, len(expected)) == expected


def test_expiry_type_and_offset_resolve_to_a_date():
    nifty = built_in_catalog().get("NIFTY")
    monday = date(2026, 3, 2)
    assert EXPIRIES.resolve(nifty, "WEEKLY", 0, monday).date == date(2026, 3, 2)
    assert EXPIRIES.resolve(nifty, "WEEKLY", 1, monday).date == date(2026, 3, 10)
    assert EXPIRIES.resolve(nifty, "MONTHLY", 0, monday).date == date(2026, 3, 30)
    assert EXPIRIES.resolve(nifty, "MONTHLY", 2, monday).date == date(2026, 5, 26)
    with pytest.raises(NoSuchExpiry):
        EXPIRIES.resolve(built_in_catalog().get("BANKNIFTY"), "WEEKLY", 0, monday)


def test_contracts_keep_the_lot_size_they_were_listed_with():
    nifty = built_in_catalog().get("NIFTY")
    assert (
        nifty.lot_size_for_expiry(EXPIRIES.resolve(nifty, "MONTHLY", 0, date(2025, 12, 1)).date)
        == 75
    )
    assert (
        nifty.lot_size_for_expiry(EXPIRIES.resolve(nifty, "MONTHLY", 1, date(2025, 12, 1)).date)
        == 65
    )


def test_trading_symbols_in_each_brokers_format():
    nifty = built_in_catalog().get("NIFTY")
    weekly = EXPIRIES.resolve(nifty, "WEEKLY", 1, date(2026, 3, 2))  # 10 Mar 2026
    monthly = EXPIRIES.resolve(nifty, "MONTHLY", 0, date(2026, 3, 2))  # 30 Mar 2026
    assert zerodha_symbol("NIFTY", weekly, 22500, "CALL") == "NIFTY2631022500CE"
    assert zerodha_symbol("NIFTY", monthly, 22500, "PUT") == "NIFTY26MAR22500PE"
    assert angelone_symbol("NIFTY", weekly, 22500, "CALL") == "NIFTY10MAR2622500CE"
    october = EXPIRIES.resolve(nifty, "WEEKLY", 0, date(2026, 10, 5))  # 6 Oct 2026
    assert zerodha_symbol("NIFTY", october, 24000, "CALL") == "NIFTY26O0624000CE"
    assert trading_symbol("UPSTOX", "NIFTY", weekly, 22550, "PUT") == "NIFTY2631022550PE"


def test_december_2024_monthlies_agree_with_the_lot_size_history():
    """The lot-size changes are keyed by the real December 2024 expiry days; the rules must land on them."""
    catalog = built_in_catalog()
    for underlying, expiry, lot in (
        ("BANKNIFTY", date(2024, 12, 24), 30),
        ("FINNIFTY", date(2024, 12, 31), 65),
        ("MIDCPNIFTY", date(2024, 12, 30), 120),
    ):
        monthly = EXPIRIES.resolve(catalog.get(underlying), "MONTHLY", 0, date(2024, 12, 2))
        assert monthly.date == expiry
        assert catalog.get(underlying).lot_size_for_expiry(monthly.date) == lot
    assert EXPIRIES.resolve(catalog.get("NIFTYNXT50"), "MONTHLY", 0, date(2025, 1, 2)).date == date(
        2025, 1, 30
    )


def test_an_entry_trades_todays_expiry_until_fifteen_minutes_before_its_close():
    nifty = built_in_catalog().get("NIFTY")

    def entry(hhmm, rollover="NONE", expiry_type="WEEKLY", day=date(2026, 3, 2)):
        rollover, expiry_type = ExpiryRollover(rollover), ExpiryType(expiry_type)
        hours, minutes = map(int, hhmm.split(":"))
        at = datetime.combine(day, time(hours, minutes), IST)
        return EXPIRIES.entry_expiry(nifty, expiry_type, 0, rollover, at).date

    # Monday 2 March 2026 is the weekly's expiry day (Tuesday 3 March is a holiday).
    assert entry("15:14") == date(2026, 3, 2)
    with pytest.raises(ExpiryNotTradable) as refused:
        entry("15:15")
    assert str(refused.value) == (
        "NIFTY 2026-03-02 (WEEKLY) expires at 15:30 IST today and entries on it stop at 15:15 IST "
        "(15 minutes before); the leg does not roll to the next expiry (expiry_rollover NONE)"
    )
    assert entry("15:15", "NEXT") == date(2026, 3, 10)
    assert entry("20:00", "NEXT") == date(2026, 3, 10)
    # The monthly rolls to the next monthly, not to a weekly.
    assert entry("15:20", "NEXT", "MONTHLY", date(2026, 3, 30)) == date(2026, 4, 28)
    # Another day's contract is not held to today's close.
    assert entry("15:29", day=date(2026, 3, 4)) == date(2026, 3, 10)


@pytest.mark.parametrize("on", [date(9999, 12, 31), date(9999, 11, 2), date.max])
def test_dates_at_the_end_of_the_calendar_are_a_clear_input_error_not_an_overflow(on):
    nifty = built_in_catalog().get("NIFTY")
    with pytest.raises(NoSuchExpiry) as listing:
        EXPIRIES.expiries(nifty, on, 6)
    assert isinstance(listing.value, InvalidInput)  # the API answers it with a 422
    assert listing.value.details == [
        {
            "field": "on",
            "message": f"{on.isoformat()} is too close to the end of the calendar (9999-12-31) to list 6 expiries",
        }
    ]
    with pytest.raises(NoSuchExpiry):
        EXPIRIES.resolve(nifty, "MONTHLY", 2, on)
    with pytest.raises(NoSuchExpiry):
        EXPIRIES.resolve(nifty, "WEEKLY", 4, on)


def test_the_last_expiries_the_calendar_holds_are_still_listed():
    nifty = built_in_catalog().get("NIFTY")
    assert listed("NIFTY", "9999-06-01", 2) == [("9999-06-01", "W"), ("9999-06-08", "W")]
    assert EXPIRIES.resolve(nifty, "MONTHLY", 0, date(9999, 6, 1)).date == date(9999, 6, 29)
