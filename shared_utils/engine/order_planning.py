"""From an execution plan and the market to the exact orders each broker account receives.

- quantity = lots x the lot size of the contract traded, sliced so that no order is above the
  freeze quantity (the largest slice is the most whole lots under it);
- on entry, within each account, BUY legs go before SELL legs (the hedges are in place before the
  shorts that need them);
- LIMIT prices cross the spread by the leg's slippage (buy at ask + slippage, sell at bid -
  slippage) but never stray further than the leg's max slippage from the mid; MARKET orders carry
  no price;
- every order has a deterministic tag of at most 20 letters and digits, derived from the execution,
  the account, the leg and the slice, so that a retry can look the order up instead of placing it
  twice.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from shared_utils.configuration.schedule import ExecutionPlan
from shared_utils.domain.enums import BrokerName, OptionType, OrderType, Side
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.market.data import OptionQuote
from shared_utils.market.expiries import Expiry
from shared_utils.market.strike_selection import SelectedStrike
from shared_utils.market.symbols import trading_symbol


@dataclass(frozen=True)
class PlannedOrder:
    underlying: str
    client_id: str
    broker: BrokerName
    leg_no: int
    slice_no: int
    transaction_type: Side
    option_type: OptionType
    strike: Decimal
    expiry: Expiry
    tradingsymbol: str
    lots: int
    lot_size: int
    quantity: int
    order_type: OrderType
    price: Decimal | None
    tag: str


def slices(lots: int, lot_size: int, freeze_quantity: int) -> list[int]:
    """Lots per order: as many of the largest whole-lot slices under the freeze quantity as fit."""
    most = max(freeze_quantity // lot_size, 1)
    return [most] * (lots // most) + ([lots % most] if lots % most else [])


def order_tag(execution_key: str, client_id: str, leg_no: int, slice_no: int) -> str:
    digest = hashlib.sha256(f"{execution_key}|{client_id}|{leg_no}|{slice_no}".encode()).digest()
    return "Q" + base64.b32encode(digest).decode()[:19]


def limit_price(
    quote: OptionQuote, side: Side, slippage: Decimal, max_slippage: Decimal | None, tick: Decimal
) -> Decimal:
    if side == Side.BUY:
        price = quote.ask + slippage
        if max_slippage is not None:
            price = min(price, quote.mid + max_slippage)
        return max((price / tick).to_integral_value(rounding=ROUND_CEILING) * tick, tick)
    price = quote.bid - slippage
    if max_slippage is not None:
        price = max(price, quote.mid - max_slippage)
    return max((price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick, tick)


def plan_entry(
    execution_key: str,
    plan: ExecutionPlan,
    strikes: dict[int, SelectedStrike],
    expiries: dict[int, Expiry],
    catalog: InstrumentCatalog,
) -> list[PlannedOrder]:
    instrument = catalog.get(plan.underlying)
    tick = Decimal(instrument.tick_size)
    legs = {leg.leg_no: leg for leg in plan.legs}
    orders: list[PlannedOrder] = []
    for allocation in plan.allocations:
        traded = [
            (int(n), lots)
            for n, lots in allocation.lots_per_leg.items()
            if int(n) in legs and lots > 0
        ]
        # Hedges first: BUY legs, then SELL legs, each by leg number.
        traded.sort(key=lambda item: (legs[item[0]].transaction_type != Side.BUY, item[0]))
        for leg_no, lots in traded:
            leg, selected, expiry = legs[leg_no], strikes[leg_no], expiries[leg_no]
            lot_size = instrument.lot_size_for_expiry(expiry.date)
            for slice_no, slice_lots in enumerate(
                slices(lots, lot_size, instrument.freeze_quantity), start=1
            ):
                price = None
                if leg.order_type == OrderType.LIMIT:
                    price = limit_price(
                        selected.quote,
                        Side(leg.transaction_type),
                        leg.entry_slippage,
                        leg.entry_max_slippage,
                        tick,
                    )
                orders.append(
                    PlannedOrder(
                        underlying=plan.underlying,
                        client_id=allocation.client_id,
                        broker=allocation.broker,
                        leg_no=leg_no,
                        slice_no=slice_no,
                        transaction_type=Side(leg.transaction_type),
                        option_type=OptionType(leg.leg_type),
                        strike=selected.strike,
                        expiry=expiry,
                        tradingsymbol=trading_symbol(
                            allocation.broker,
                            plan.underlying,
                            expiry,
                            selected.strike,
                            leg.leg_type,
                        ),
                        lots=slice_lots,
                        lot_size=lot_size,
                        quantity=slice_lots * lot_size,
                        order_type=OrderType(leg.order_type),
                        price=price,
                        tag=order_tag(execution_key, allocation.client_id, leg_no, slice_no),
                    )
                )
    return orders
