"""The spec's Iron Condor on its two leg-level allocations, planned into orders a trader can check."""

import copy
from datetime import date, datetime
from decimal import Decimal

from shared_utils.configuration.allocation_math import calculated_totals
from shared_utils.configuration.schedule import execution_plan
from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.domain.models import Allocation, AllocationConfig, Leg, Strategy
from shared_utils.engine.order_planning import limit_price, order_tag, plan_entry
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import OptionQuote, SimulatedMarket
from shared_utils.market.expiries import ExpiryCalendar
from shared_utils.market.strike_selection import select_strikes
from tests.journey import ALLOCATIONS, LEGS, STRATEGY

CATALOG, CALENDAR = built_in_catalog(), built_in_calendar()
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=IST)
KEY = "EXECUTION_ENTRY#strategy-789#20260302"


def journey_plan(lots_override=None):
    legs = {
        leg["leg_no"]: Leg(**leg, strategy_id="strategy-789", created_at="t", updated_at="t")
        for leg in copy.deepcopy(LEGS)["legs"]
    }
    allocations = []
    for raw in copy.deepcopy(ALLOCATIONS)["allocations"]:
        if lots_override:
            raw["allocation_config"]["leg_overrides"]["1"]["lots"] = lots_override
        config = AllocationConfig.model_validate(raw["allocation_config"])
        allocations.append(
            Allocation(
                **raw,
                strategy_id="strategy-789",
                broker="ZERODHA" if raw["client_id"].startswith("Z") else "ANGELONE",
                mode="PAPER",
                performance_metrics={},
                calculated_totals=calculated_totals(config, legs),
                created_at="t",
                updated_at="t",
            )
        )
    strategy = Strategy(
        **STRATEGY,
        strategy_id="strategy-789",
        execution_schedule={
            k: STRATEGY[k] for k in ("entry_time", "exit_time", "entry_days", "exit_days")
        },
        performance_metrics={},
        created_at="t",
        updated_at="t",
        version=1,
    )
    return legs, execution_plan("sub-alice", strategy, legs, allocations)


def planned(lots_override=None):
    legs, plan = journey_plan(lots_override)
    expiry = ExpiryCalendar(CALENDAR).resolve(CATALOG.get("NIFTY"), "WEEKLY", 0, MONDAY.date())
    chain = SimulatedMarket(CATALOG, CALENDAR).chain("NIFTY", expiry.date, MONDAY)
    strikes = select_strikes(legs.values(), lambda _leg: chain)
    return plan_entry(KEY, plan, strikes, dict.fromkeys(legs, expiry), CATALOG), expiry


def test_each_account_gets_its_lots_at_the_lot_size_in_force_hedges_first():
    orders, expiry = planned()
    assert expiry.date == date(
        2026, 3, 2
    )  # Tuesday 3 March is a holiday: the weekly expires on Monday
    by_account = {}
    for o in orders:
        by_account.setdefault(o.client_id, []).append(
            (o.leg_no, o.transaction_type, o.lots, o.quantity)
        )
    assert by_account == {
        "ZERODHA123": [
            (2, "BUY", 3, 195),
            (4, "BUY", 1, 65),
            (1, "SELL", 3, 195),
            (3, "SELL", 1, 65),
        ],
        "ANGELONE456": [
            (2, "BUY", 1, 65),
            (4, "BUY", 4, 260),
            (1, "SELL", 1, 65),
            (3, "SELL", 4, 260),
        ],
    }
    zerodha_put = next(o for o in orders if o.client_id == "ZERODHA123" and o.leg_no == 1)
    angel_put = next(o for o in orders if o.client_id == "ANGELONE456" and o.leg_no == 1)
    assert zerodha_put.tradingsymbol == f"NIFTY26302{int(zerodha_put.strike)}PE"
    assert angel_put.tradingsymbol == f"NIFTY02MAR26{int(angel_put.strike)}PE"


def test_orders_above_the_freeze_quantity_are_sliced_in_whole_lots():
    orders, _ = planned(lots_override=60)  # 60 lots x 65 = 3,900 units of leg 1 on Zerodha
    slices = [
        (o.slice_no, o.lots, o.quantity)
        for o in orders
        if o.client_id == "ZERODHA123" and o.leg_no == 1
    ]
    assert slices == [(1, 27, 1755), (2, 27, 1755), (3, 6, 390)]
    assert len({o.tag for o in orders}) == len(orders)


def test_tags_are_deterministic_and_what_brokers_accept():
    tag = order_tag(KEY, "ZERODHA123", 1, 1)
    assert tag == order_tag(KEY, "ZERODHA123", 1, 1) != order_tag(KEY, "ZERODHA123", 1, 2)
    assert len(tag) <= 20
    assert tag.isalnum()


def test_limit_prices_cross_by_the_slippage_within_the_max():
    quote = OptionQuote(
        Decimal(25000),
        "PUT",
        Decimal("100.00"),
        Decimal("101.00"),
        Decimal("100.50"),
        0.13,
        -0.3,
        1,
    )
    tick = Decimal("0.05")
    assert limit_price(quote, "BUY", Decimal(3), Decimal(8), tick) == Decimal("104.00")
    assert limit_price(quote, "BUY", Decimal(5), Decimal(2), tick) == Decimal(
        "102.50"
    )  # capped at mid + 2
    assert limit_price(quote, "SELL", Decimal(5), Decimal(10), tick) == Decimal("95.00")
    assert limit_price(quote, "SELL", Decimal(5), Decimal(1), tick) == Decimal(
        "99.50"
    )  # floored at mid - 1
