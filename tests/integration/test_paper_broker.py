"""The paper broker fills like a real market, and keeps its books in the table."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.domain.broker import OrderRequest
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.errors import Conflict
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from shared_utils.market.expiries import Expiry
from shared_utils.market.symbols import zerodha_symbol

EXPIRY = date(2026, 3, 10)
MARKET = SimulatedMarket(built_in_catalog(), built_in_calendar(), seed=7)


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=IST))


@pytest.fixture
def broker(repository, clock):
    ids = iter(f"ORD{n:04d}" for n in range(1, 1000))
    return PaperBroker(
        repository,
        MARKET,
        built_in_catalog(),
        built_in_calendar(),
        clock,
        "sub-alice",
        "ZERODHA123",
        new_order_id=lambda: next(ids),
    )


def order(
    strike=25250,
    option_type="CALL",
    side="BUY",
    quantity=65,
    order_type="MARKET",
    price=None,
    trigger=None,
    tag="IC1L1",
):
    return OrderRequest(
        tradingsymbol=zerodha_symbol(
            "NIFTY", Expiry(EXPIRY, "WEEKLY", EXPIRY), strike, option_type
        ),
        underlying="NIFTY",
        expiry=EXPIRY,
        strike=Decimal(strike),
        option_type=option_type,
        transaction_type=side,
        quantity=quantity,
        order_type=order_type,
        price=None if price is None else Decimal(str(price)),
        trigger_price=None if trigger is None else Decimal(str(trigger)),
        tag=tag,
    )


def quote(clock, strike=25250, option_type="CALL"):
    return MARKET.chain("NIFTY", EXPIRY, clock.now()).quote(Decimal(strike), option_type)


def test_a_market_buy_fills_at_the_ask_and_a_sell_at_the_bid(broker, clock):
    touch = quote(clock)
    bought = broker.place_order(order(side="BUY"))
    sold = broker.place_order(order(side="SELL", tag="IC1L2"))
    assert bought.status == "COMPLETE"
    assert bought.average_price == touch.ask
    assert sold.status == "COMPLETE"
    assert sold.average_price == touch.bid
    assert touch.bid < touch.last < touch.ask


def test_a_limit_order_fills_only_when_the_market_crosses_it(broker, clock):
    touch = quote(clock)
    below = broker.place_order(order(order_type="LIMIT", price=touch.bid))
    assert below.status == "OPEN"
    marketable = broker.place_order(order(order_type="LIMIT", price=touch.ask + 5, tag="IC1L2"))
    assert marketable.status == "COMPLETE"
    assert marketable.average_price == touch.ask
    # Later the market falls through the resting bid: it fills at its own limit.
    for _ in range(5, 360, 5):
        clock.advance(minutes=5)
        if quote(clock).ask <= touch.bid:
            break
    else:
        pytest.fail("the simulated market never came down to the limit")
    resting = broker.order_status(below.order_id)
    assert resting.status == "COMPLETE"
    assert resting.average_price == touch.bid


def test_a_stop_loss_order_waits_for_its_trigger_and_fills_at_the_minute_it_fired(broker, clock):
    short_put = quote(clock, 25000, "PUT")
    trigger = short_put.last + Decimal("10")
    stop = broker.place_order(order(25000, "PUT", "BUY", order_type="SL-M", trigger=trigger))
    assert stop.status == "TRIGGER_PENDING"
    clock.advance(hours=5)  # one read, hours later: the minutes in between are still watched
    filled = broker.order_status(stop.order_id)
    assert filled.status == "COMPLETE"
    fired_at = datetime.fromisoformat(filled.updated_at.replace("Z", "+00:00"))
    at_fire = MARKET.quote("NIFTY", EXPIRY, Decimal(25000), "PUT", fired_at)
    before = MARKET.quote("NIFTY", EXPIRY, Decimal(25000), "PUT", fired_at - timedelta(minutes=1))
    assert at_fire.last >= trigger > before.last
    assert filled.average_price == at_fire.ask


def test_a_stop_touched_and_left_between_two_reads_still_fires(broker, clock):
    """Find a stop level the put reaches during a window and falls back from by its end."""
    start = clock.now()
    path = [
        (
            minute,
            MARKET.quote(
                "NIFTY", EXPIRY, Decimal(25000), "PUT", start + timedelta(minutes=minute)
            ).last,
        )
        for minute in range(300)
    ]
    opening = path[0][1]

    def stop_level(peak):
        level = (opening + peak) / 2
        return level - level % Decimal("0.05")

    window = next(
        (
            (m, last)
            for m, last in path
            if last > opening + 5 and path[min(m + 30, 299)][1] < stop_level(last)
        ),
        None,
    )
    assert window is not None, "the simulated put never rose and fell back"
    peak_minute, peak = window
    trigger = stop_level(peak)
    stop = broker.place_order(order(25000, "PUT", "BUY", order_type="SL-M", trigger=trigger))
    clock.advance(minutes=min(peak_minute + 30, 299))
    assert (
        MARKET.quote("NIFTY", EXPIRY, Decimal(25000), "PUT", clock.now()).last < trigger
    )  # the market has left it
    assert broker.order_status(stop.order_id).status == "COMPLETE"


def test_a_single_quote_is_the_chains_quote():
    at = datetime(2026, 3, 2, 11, 7, tzinfo=IST)
    chain = MARKET.chain("NIFTY", EXPIRY, at)
    for strike in (24800, 25250, 25700):
        for option_type in ("CALL", "PUT"):
            assert MARKET.quote("NIFTY", EXPIRY, Decimal(strike), option_type, at) == chain.quote(
                Decimal(strike), option_type
            )


def test_orders_the_exchange_would_refuse_are_rejected(broker):
    assert (
        broker.place_order(order(quantity=65 * 28)).status_message
        == "quantity 1820 is above the freeze quantity 1800"
    )
    assert (
        broker.place_order(order(quantity=65 * 27)).status == "COMPLETE"
    )  # 1,755 units is the largest order
    assert "whole number of lots" in broker.place_order(order(quantity=100)).status_message
    assert broker.place_order(order(tag="A" * 21)).status == "REJECTED"
    assert broker.place_order(order(tag="has-dash")).status == "REJECTED"
    assert broker.place_order(order(order_type="LIMIT")).status == "REJECTED"


def test_orders_are_found_by_tag_and_positions_net_out(broker, clock):
    broker.place_order(order(side="SELL", quantity=130, tag="ENTRY20260302L1"))
    broker.place_order(order(side="BUY", quantity=65, tag="EXIT20260302L1"))
    found = broker.orders_by_tag("ENTRY20260302L1")
    assert [o.quantity for o in found] == [130]
    assert found[0].transaction_type == "SELL"
    (position,) = broker.positions()
    assert position.quantity == -65
    sold_at, bought_at = (
        found[0].average_price,
        broker.orders_by_tag("EXIT20260302L1")[0].average_price,
    )
    assert position.realised_pnl == (sold_at - bought_at) * 65
    assert position.average_price == sold_at


def test_the_books_survive_a_new_broker_object(broker, repository, clock):
    placed = broker.place_order(order(order_type="LIMIT", price=1))
    again = PaperBroker(
        repository,
        MARKET,
        built_in_catalog(),
        built_in_calendar(),
        clock,
        "sub-alice",
        "ZERODHA123",
    )
    assert again.order_status(placed.order_id).status == "OPEN"
    assert again.cancel_order(placed.order_id).status == "CANCELLED"
    with pytest.raises(Conflict):
        again.cancel_order(placed.order_id)
    other_user = PaperBroker(
        repository, MARKET, built_in_catalog(), built_in_calendar(), clock, "sub-bob", "ZERODHA123"
    )
    assert other_user.order_book() == []


def test_modifying_a_resting_limit_to_a_marketable_price_fills_it(broker, clock):
    resting = broker.place_order(order(order_type="LIMIT", price=1))
    touch = quote(clock)
    modified = broker.modify_order(resting.order_id, price=touch.ask)
    assert modified.status == "COMPLETE"
    assert modified.average_price == touch.ask


def test_no_order_trades_when_the_market_is_closed_or_the_contract_expired(broker, clock):
    clock.advance(days=6)  # Sunday 8 March
    assert broker.place_order(order()).status_message == (
        "the market is closed: NSE F&O trades 09:15-15:30 IST on trading days (now Sun 2026-03-08 09:30 IST)"
    )
    clock.advance(days=2, hours=6, minutes=1)  # Tuesday 10 March 15:31, after its last close
    assert broker.place_order(order()).status_message == (
        "NIFTY2631025250CE: the contract expired on 2026-03-10; no orders on expired contracts"
    )
    clock.advance(days=1)  # Wednesday 11 March, the day after
    assert "the contract expired on 2026-03-10" in broker.place_order(order()).status_message


def test_an_order_on_a_contract_the_exchange_does_not_list_is_rejected_in_its_words(broker):
    def rejected(request):
        placed = broker.place_order(request)
        assert placed.status == "REJECTED"
        return placed.status_message

    assert rejected(order().model_copy(update={"underlying": "NIFTYX"})) == (
        "unknown instrument: no F&O contracts on NIFTYX"
    )
    assert rejected(order().model_copy(update={"strike": Decimal(25260)})) == (
        "NIFTY2631025250CE: invalid instrument: NIFTY strikes are multiples of 50, not 25260"
    )
    assert rejected(order().model_copy(update={"expiry": date(2026, 3, 11)})) == (
        "NIFTY2631025250CE: invalid instrument: NIFTY has no contract expiring on 2026-03-11"
    )
    assert rejected(order().model_copy(update={"tradingsymbol": "NIFTY2631025300CE"})) == (
        "NIFTY2631025300CE: invalid instrument: the NIFTY 2026-03-10 25250 CALL is "
        "NIFTY10MAR2625250CE or NIFTY2631025250CE"
    )
    assert broker.order_book()[0].status_message.startswith("unknown instrument")
    # Angel One's spelling of the same contract is the same contract.
    angel = order().model_copy(update={"tradingsymbol": "NIFTY10MAR2625250CE"})
    assert broker.place_order(angel).status == "COMPLETE"


def test_a_day_order_still_working_at_the_close_lapses(broker, clock):
    resting = broker.place_order(order(order_type="LIMIT", price=1))
    clock.advance(hours=6, minutes=1)  # 15:31
    assert broker.order_status(resting.order_id).status == "LAPSED"


def test_stops_on_the_wrong_side_of_the_market_and_prices_off_the_tick_are_rejected(broker, clock):
    last = quote(clock).last
    assert (
        "above the last price"
        in broker.place_order(order(order_type="SL-M", trigger=last - 50)).status_message
    )
    assert (
        "below the last price"
        in broker.place_order(
            order(side="SELL", order_type="SL-M", trigger=last + 50)
        ).status_message
    )
    stop_limit = order(order_type="SL", trigger=last + 10, price=last + 5)
    assert "beyond its trigger" in broker.place_order(stop_limit).status_message
    assert (
        "tick size" in broker.place_order(order(order_type="LIMIT", price="100.03")).status_message
    )


def test_a_lost_conditional_write_does_not_hide_a_fill(repository, clock):
    """Another request fills the order while this one is placing it: the answer is the stored truth."""

    class Interfering(SimulatedMarket):
        def chain(self, underlying, expiry, at):
            chain = super().chain(underlying, expiry, at)
            if not getattr(self, "busy", False):
                self.busy = True
                other.order_book()  # the other request works the same order first
            return chain

    market = Interfering(built_in_catalog(), built_in_calendar(), seed=7)
    ids = iter(["RACE1", "RACE1"])
    mine = PaperBroker(
        repository,
        market,
        built_in_catalog(),
        built_in_calendar(),
        clock,
        "sub-alice",
        "Z1",
        new_order_id=lambda: next(ids),
    )
    other = PaperBroker(
        repository, MARKET, built_in_catalog(), built_in_calendar(), clock, "sub-alice", "Z1"
    )
    placed = mine.place_order(order())
    assert placed.status == "COMPLETE"
    (position,) = other.positions()
    assert position.quantity == 65
