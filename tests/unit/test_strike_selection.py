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
from shared_utils.market.strike_selection import (
    atm_strike,
    collapsed_legs,
    select_strike,
    select_strikes,
)
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


# Half an hour before the NIFTY weekly's close on its expiry day: only the strikes next to the money
# are worth more than the minimum tick, and every far one shows |delta| 0.
EXPIRY_DAY = MARKET.chain("NIFTY", date(2026, 12, 1), datetime(2026, 12, 1, 15, 0, tzinfo=IST))


def test_among_equal_premiums_the_strike_nearest_the_money_is_taken_never_the_furthest_listed():
    worthless = min(q.mid for q in EXPIRY_DAY.side("CALL"))
    assert sum(q.mid == worthless for q in EXPIRY_DAY.side("CALL")) > 10
    atm = atm_strike(EXPIRY_DAY.spot, 50)
    picked = select_strike(leg("CALL", "BUY", method="PREMIUM", premium=0.05), EXPIRY_DAY)
    nearest = min(
        (q for q in EXPIRY_DAY.side("CALL") if q.mid == worthless and q.strike > atm),
        key=lambda q: q.strike,
    )
    assert picked.strike == nearest.strike
    assert picked.strike < EXPIRY_DAY.strikes[-1]


def condor_with_delta_wings(wing_delta):
    legs = copy.deepcopy(LEGS)["legs"]
    for raw in legs:
        if raw["transaction_type"] == "BUY":
            raw["entry_by"] = "DELTA"
            raw["strike_selection_config"] = {"method": "DELTA", "delta_value": wing_delta}
    return [Leg(**raw, strategy_id="s", created_at="t", updated_at="t") for raw in legs]


def test_a_buy_and_a_sell_that_land_on_one_contract_are_named():
    legs = condor_with_delta_wings(0.10)
    picked = select_strikes(legs, lambda _leg: EXPIRY_DAY)
    collapsed = collapsed_legs(legs, picked, lambda _leg: EXPIRY_DAY.expiry)
    assert [(c.sell.leg_no, c.buy.leg_no) for c in collapsed] == [(1, 2), (3, 4)]
    assert str(collapsed[1]) == (
        f"legs 3 (SELL CALL) and 4 (BUY CALL) resolve to the same contract, the 2026-12-01 "
        f"{picked[3].strike} CALL"
    )
    # The same legs a week before expiry find strikes between the targets: nothing collapses.
    assert (
        collapsed_legs(legs, select_strikes(legs, lambda _leg: CHAIN), lambda _leg: CHAIN.expiry)
        == []
    )


def test_legs_of_one_side_another_option_type_or_another_expiry_are_other_positions():
    legs = condor_with_delta_wings(0.10)
    same_strike = {n: select_strike(legs[0], EXPIRY_DAY) for n in (1, 2, 3, 4)}
    # Every leg on one strike: only the BUY and SELL of one option type and expiry collapse.
    assert [
        (c.sell.leg_no, c.buy.leg_no)
        for c in collapsed_legs(legs, same_strike, lambda _l: EXPIRY_DAY.expiry)
    ] == [
        (1, 2),
        (3, 4),
    ]
    sells = [legs[0], legs[2]]  # a short straddle's two legs: a put and a call
    assert collapsed_legs(sells, same_strike, lambda _l: EXPIRY_DAY.expiry) == []
    calendar = {
        1: date(2026, 12, 1),
        2: date(2026, 12, 8),
        3: date(2026, 12, 1),
        4: date(2026, 12, 8),
    }
    assert collapsed_legs(legs, same_strike, lambda leg: calendar[leg.leg_no]) == []
