"""Expiry dates for NIFTY, BANKNIFTY and SENSEX across 2025 and 2026, holidays included, worked out
by hand from the exchanges' rules: NSE Thursday until August 2025 and Tuesday after, BSE Tuesday in
January-August 2025 and Thursday after, monthly on the last such day, moved to the previous trading
day when the exchange is closed."""

from datetime import date

import pytest

from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar, NoSuchExpiry
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
