"""Broker instrument masters: lot sizes per listed expiry, and broken downloads refused whole."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest

from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar
from shared_utils.market.instrument_master import (
    IncompleteMaster,
    load_angelone_json,
    load_zerodha_csv,
)
from shared_utils.market.symbols import angelone_symbol, zerodha_symbol

CATALOG = built_in_catalog()
EXPIRIES = ExpiryCalendar(built_in_calendar())
ON = date(2025, 12, 1)
# What the exchanges listed then: December 2025 contracts at the old lot, January 2026 ones at the new.
LOTS = {"NIFTY": (75, 65), "BANKNIFTY": (35, 30), "SENSEX": (20, 20)}
CENTRES = {"NIFTY": 26000, "BANKNIFTY": 58000, "SENSEX": 85000}


def contracts(underlying, count=7, strikes=30):
    instrument = CATALOG.get(underlying)
    for expiry in EXPIRIES.expiries(instrument, ON, count):
        lot = LOTS[underlying][0] if expiry.date < date(2026, 1, 1) else LOTS[underlying][1]
        for n in range(-strikes, strikes):
            strike = CENTRES[underlying] + n * instrument.strike_step
            for option_type in ("CALL", "PUT"):
                yield instrument, expiry, strike, option_type, lot


def zerodha_text(underlyings=("NIFTY", "BANKNIFTY", "SENSEX"), extra_rows=()):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "instrument_token",
            "exchange_token",
            "tradingsymbol",
            "name",
            "last_price",
            "expiry",
            "strike",
            "tick_size",
            "lot_size",
            "instrument_type",
            "segment",
            "exchange",
        ]
    )
    token = 1000
    for underlying in underlyings:
        for instrument, expiry, strike, option_type, lot in contracts(underlying):
            token += 1
            exchange = instrument.segment
            writer.writerow(
                [
                    token,
                    token // 256,
                    zerodha_symbol(underlying, expiry, strike, option_type),
                    underlying,
                    0,
                    expiry.date.isoformat(),
                    strike,
                    0.05,
                    lot,
                    "CE" if option_type == "CALL" else "PE",
                    f"{exchange}-OPT",
                    exchange,
                ]
            )
    for row in extra_rows:
        writer.writerow(row)
    return out.getvalue()


def angelone_text(underlyings=("NIFTY", "BANKNIFTY", "SENSEX")):
    entries = []
    for underlying in underlyings:
        for instrument, expiry, strike, option_type, lot in contracts(underlying):
            entries.append(
                {
                    "token": str(len(entries) + 1),
                    "symbol": angelone_symbol(underlying, expiry, strike, option_type),
                    "name": underlying,
                    "expiry": expiry.date.strftime("%d%b%Y").upper(),
                    "strike": f"{strike * 100:.6f}",
                    "lotsize": str(lot),
                    "instrumenttype": "OPTIDX",
                    "exch_seg": instrument.segment,
                    "tick_size": "5.000000",
                }
            )
    entries.append(
        {
            "token": "2885",
            "symbol": "RELIANCE-EQ",
            "name": "RELIANCE",
            "expiry": "",
            "strike": "-1.000000",
            "lotsize": "1",
            "instrumenttype": "",
            "exch_seg": "NSE",
            "tick_size": "10.000000",
        }
    )
    return json.dumps(entries)


STOCK_ROW = [
    "9999",
    "39",
    "RELIANCE25DEC1500CE",
    "RELIANCE",
    "0",
    "2025-12-30",
    "1500",
    "0.05",
    "500",
    "CE",
    "NFO-OPT",
    "NFO",
]


@pytest.mark.parametrize(
    ("load", "text"),
    [
        (load_zerodha_csv, zerodha_text(extra_rows=[STOCK_ROW] * 1)),
        (load_angelone_json, angelone_text()),
    ],
)
def test_a_whole_master_gives_the_lot_size_of_every_listed_expiry(load, text):
    loaded = load(text, CATALOG)
    nifty = loaded.catalog.get("NIFTY")
    assert nifty.lot_size_for_expiry(date(2025, 12, 30)) == 75
    assert nifty.lot_size_for_expiry(date(2026, 1, 6)) == 65
    assert (
        nifty.lot_size_for_expiry(date(2024, 6, 27)) == 25
    )  # history before the file stays built in
    assert loaded.catalog.get("BANKNIFTY").lot_size_for_expiry(date(2025, 12, 30)) == 35
    assert (nifty.strike_step, loaded.catalog.get("BANKNIFTY").strike_step) == (50, 100)
    assert nifty.freeze_quantity == 1800  # not in masters: kept


def test_contracts_are_keyed_by_exchange_and_symbol_and_unknown_underlyings_reported():
    loaded = load_zerodha_csv(zerodha_text(extra_rows=[STOCK_ROW]), CATALOG)
    contract = loaded.contracts["NFO:NIFTY25D0226000CE"]
    assert (contract.expiry, contract.strike, contract.option_type, contract.lot_size) == (
        date(2025, 12, 2),
        Decimal(26000),
        "CALL",
        75,
    )
    assert "BFO:SENSEX25D0485000PE" in loaded.contracts
    assert loaded.skipped_underlyings == ("RELIANCE",)


def test_a_download_cut_short_is_refused_and_the_data_in_use_stays():
    text = zerodha_text()
    with pytest.raises(IncompleteMaster, match="cut short"):
        load_zerodha_csv(text[: len(text) // 2 + 7], CATALOG)
    with pytest.raises(IncompleteMaster, match="cut short"):
        load_angelone_json(angelone_text()[:-500], CATALOG)
    assert CATALOG.get("NIFTY").lot_size_for_expiry(date(2026, 1, 6)) == 65


def test_a_file_missing_an_underlying_or_with_another_header_is_refused():
    with pytest.raises(IncompleteMaster, match="BANKNIFTY: 0"):
        load_zerodha_csv(zerodha_text(("NIFTY", "SENSEX")), CATALOG)
    with pytest.raises(IncompleteMaster, match="header"):
        load_zerodha_csv("symbol,token\nNIFTY,1\n", CATALOG)
    with pytest.raises(IncompleteMaster, match="JSON list"):
        load_angelone_json('{"data": []}', CATALOG)
    damaged = zerodha_text().replace(",75,CE,", ",lots,CE,", 1)
    with pytest.raises(IncompleteMaster, match="does not parse"):
        load_zerodha_csv(damaged, CATALOG)


def test_expiries_beyond_the_file_keep_the_built_in_history():
    only_december = (
        "\n".join(line for line in zerodha_text().splitlines() if ",2026-" not in line) + "\n"
    )
    nifty = load_zerodha_csv(only_december, CATALOG).catalog.get("NIFTY")
    assert nifty.lot_size_for_expiry(date(2025, 12, 30)) == 75
    assert nifty.lot_size_for_expiry(date(2026, 2, 24)) == 65


def test_a_cut_inside_the_last_line_a_mismatched_segment_or_a_shrunken_file_is_refused():
    text = zerodha_text()
    with pytest.raises(IncompleteMaster, match="line break"):
        load_zerodha_csv(text.rstrip("\n")[:-3], CATALOG)
    with pytest.raises(IncompleteMaster, match="segment"):
        load_zerodha_csv(text.replace("NFO-OPT,NFO", "NFO-OPT,BFO", 1), CATALOG)
    in_use = load_zerodha_csv(text, CATALOG)
    lines = text.splitlines(keepends=True)
    with pytest.raises(IncompleteMaster, match="the master in use has"):
        load_zerodha_csv("".join(lines[: len(lines) * 3 // 4]), CATALOG, previous=in_use)


def test_a_per_exchange_file_is_whole_without_the_other_exchanges_index():
    nfo_only = load_zerodha_csv(zerodha_text(("NIFTY", "BANKNIFTY")), CATALOG)
    assert nfo_only.catalog.get("NIFTY").lot_size_for_expiry(date(2026, 1, 6)) == 65
    assert not any(key.startswith("BFO:") for key in nfo_only.contracts)
