"""The simulated market: reproducible, and priced like a real one."""

from datetime import date, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket, black76

AT = datetime(2026, 3, 2, 9, 30, tzinfo=IST)


def market(seed=7):
    return SimulatedMarket(built_in_catalog(), built_in_calendar(), seed=seed)


def test_the_same_seed_gives_the_same_market_and_another_seed_another():
    assert market().spot("NIFTY", AT) == market().spot("NIFTY", AT)
    assert market().chain("NIFTY", date(2026, 3, 10), AT) == market().chain(
        "NIFTY", date(2026, 3, 10), AT
    )
    assert market(seed=8).spot("NIFTY", AT) != market().spot("NIFTY", AT)


def test_black76_agrees_with_put_call_parity_and_delta_bounds():
    call, call_delta = black76(25000.0, 25250.0, 0.13, 8 / 365, 0.065, "CALL")
    put, put_delta = black76(25000.0, 25250.0, 0.13, 8 / 365, 0.065, "PUT")
    discount = 2.718281828459045 ** (-0.065 * 8 / 365)
    assert abs((call - put) - discount * (25000.0 - 25250.0)) < 1e-6
    assert 0 < call_delta < 1
    assert -1 < put_delta < 0
    assert abs(call_delta - put_delta - 1) < 1e-9  # spot deltas


def test_a_chain_has_a_skew_a_spread_and_prices_on_the_tick():
    chain = market().chain("NIFTY", date(2026, 3, 10), AT)
    puts = chain.side("PUT")
    assert puts[0].implied_volatility > puts[len(puts) // 2].implied_volatility  # the put skew
    for quote in chain.quotes:
        assert quote.bid < quote.ask
        assert quote.bid >= 0
        assert (quote.ask * 20) == (quote.ask * 20).to_integral_value()
    near = chain.quote(25250, "CALL")
    far = chain.quote(25950, "CALL")
    assert (near.ask - near.bid) >= (far.ask - far.bid)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 374), st.sampled_from(["NIFTY", "BANKNIFTY", "SENSEX"]))
def test_calls_fall_and_puts_rise_with_the_strike_at_any_minute(minute, underlying):
    at = datetime(2026, 3, 2, 9, 15, tzinfo=IST) + timedelta(minutes=minute)
    chain = market().chain(underlying, date(2026, 3, 30), at)
    calls, puts = chain.side("CALL"), chain.side("PUT")
    assert all(a.last >= b.last for a, b in pairwise(calls))
    assert all(a.last <= b.last for a, b in pairwise(puts))
    assert all(a.delta >= b.delta for a, b in pairwise(calls))
