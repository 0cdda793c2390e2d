"""On a fixed simulated chain, every method picks the strike a trader would pick by hand.

The chain: NIFTY 10 Mar 2026 weekly seen at 09:30 on 2 Mar 2026 (spot 25227.11, so ATM 25250).
Its puts at 24600..24900 have deltas -0.090, -0.108, -0.127, -0.149, -0.173, -0.199, -0.229; its
calls at 25500..25900 have 0.319, 0.283, 0.250, 0.219, 0.190, 0.163, 0.139, 0.118, 0.099;
call mids: 25500 100.38, 25750 41.60; put mids: 24800 47.08, 24850 56.38.
"""

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.domain.models import Leg
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from shared_utils.market.strike_selection import atm_strike, select_strike, select_strikes
from tests.journey import LEGS

MARKET = SimulatedMarket(built_in_catalog(), built_in_calendar(), seed=7)
CHAIN = MARKET.chain("NIFTY", date(2026, 3, 10), datetime(2026, 3, 2, 9, 30, tzinfo=IST))


def leg(leg_type="CALL", side="SELL", **config):
    base = dict(
        LEGS["legs"][0],
        leg_type=leg_type,
        transaction_type=side,
        category=None,
        strike_selection_config=config,
        entry_by=config["method"],
    )
    return Leg(**base, strategy_id="s", created_at="t", updated_at="t")


def test_the_fixed_chain_is_the_one_described():
    assert CHAIN.spot == Decimal("25227.11")
    assert atm_strike(CHAIN.spot, 50) == 25250


@pytest.mark.parametrize(
    ("leg_type", "side", "config", "strike"),
    [
        ("PUT", "SELL", {"method": "DELTA", "delta_value": 0.20}, 24850),
        ("CALL", "SELL", {"method": "DELTA", "delta_value": 0.20}, 25700),
        ("CALL", "SELL", {"method": "DELTA", "delta_value": 0.30}, 25550),
        ("PUT", "BUY", {"method": "DELTA"}, 24650),  # default 0.10 for a BUY leg
        ("CALL", "SELL", {"method": "DELTA"}, 25700),  # default 0.20 for a SELL leg
        ("CALL", "SELL", {"method": "STRIKE_DISTANCE", "strike_distance": 300}, 25550),
        ("PUT", "SELL", {"method": "STRIKE_DISTANCE", "strike_distance": 300}, 24950),
        (
            "CALL",
            "SELL",
            {"method": "STRIKE_DISTANCE", "strike_distance": 320},
            25550,
        ),  # nearest listed
        ("CALL", "BUY", {"method": "ATM_OFFSET", "atm_offset": 2}, 25350),
        ("PUT", "BUY", {"method": "ATM_OFFSET", "atm_offset": 2}, 25150),
        ("CALL", "BUY", {"method": "ATM_OFFSET", "atm_offset": -1}, 25200),  # in the money
        ("CALL", "BUY", {"method": "ATM_OFFSET"}, 25250),  # default: ATM
        ("CALL", "SELL", {"method": "PREMIUM", "premium": 100}, 25500),
        ("PUT", "SELL", {"method": "PREMIUM", "premium": 50}, 24800),
    ],
)
def test_each_method_picks_the_strike_a_trader_would(leg_type, side, config, strike):
    assert select_strike(leg(leg_type, side, **config), CHAIN).strike == strike


def test_the_specs_iron_condor_without_values_comes_out_as_an_iron_condor():
    legs = [
        Leg(**leg, strategy_id="s", created_at="t", updated_at="t")
        for leg in copy.deepcopy(LEGS)["legs"]
    ]
    picked = select_strikes(legs, lambda _leg: CHAIN)
    assert {n: s.strike for n, s in picked.items()} == {1: 24850, 2: 24650, 3: 25700, 4: 25900}
    assert picked[2].target == "wing: 4 strikes beyond the short leg at 24850"


@settings(max_examples=60, deadline=None)
@example(370, 0, "NIFTY")  # 15:25 on expiry day: every far strike shows delta 0
@given(
    st.integers(0, 370),
    st.integers(0, 5),
    st.sampled_from(["NIFTY", "BANKNIFTY", "SENSEX", "FINNIFTY"]),
)
def test_the_iron_condor_keeps_its_shape_whatever_the_market(minute, days_before, underlying):
    trading_day = built_in_calendar().trading_day_on_or_before(
        date(2026, 3, 30) - timedelta(days=days_before)
    )
    at = datetime.combine(trading_day, datetime.min.time(), IST).replace(
        hour=9, minute=15
    ) + timedelta(minutes=minute)
    chain = MARKET.chain(underlying, date(2026, 3, 30), at)
    legs = [
        Leg(**{**leg, "underlying": underlying}, strategy_id="s", created_at="t", updated_at="t")
        for leg in copy.deepcopy(LEGS)["legs"]
    ]
    strikes = {n: s.strike for n, s in select_strikes(legs, lambda _leg: chain).items()}
    assert strikes[2] < strikes[1] < strikes[3] < strikes[4]


def test_a_strike_the_chain_does_not_list_is_refused_not_replaced():
    from shared_utils.market.strike_selection import StrikeOutOfRange

    with pytest.raises(StrikeOutOfRange, match="outside the chain"):
        select_strike(leg("CALL", "BUY", method="ATM_OFFSET", atm_offset=45), CHAIN)
    with pytest.raises(StrikeOutOfRange):
        select_strike(leg("PUT", "SELL", method="STRIKE_DISTANCE", strike_distance=5000), CHAIN)
