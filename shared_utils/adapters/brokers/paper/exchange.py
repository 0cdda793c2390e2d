"""The exchange's rules for an arriving order, as the paper broker applies them: what a real
exchange (or the broker's risk system in front of it) refuses, with the message a trader reads."""

from __future__ import annotations

import re
from decimal import Decimal

from shared_utils.domain.broker import OrderRequest
from shared_utils.domain.clock import IST, Clock, ist_date
from shared_utils.domain.enums import OrderType, Side
from shared_utils.domain.instruments import Instrument, InstrumentCatalog
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider
from shared_utils.market.expiries import ExpiryCalendar
from shared_utils.market.symbols import angelone_symbol, zerodha_symbol

TAG = re.compile(r"^[A-Za-z0-9]{1,20}$")
STOPS = (OrderType.SL, OrderType.SL_M)


class ExchangeRules:
    def __init__(
        self,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        calendar: TradingCalendar,
        clock: Clock,
    ):
        self.market, self.catalog, self.calendar, self.clock = market, catalog, calendar, clock
        self.expiries = ExpiryCalendar(calendar)

    def rejection(self, request: OrderRequest) -> str | None:
        """Why the exchange would refuse the order, in its words, or None."""
        if not TAG.match(request.tag):
            return "tag must be 1 to 20 letters and digits"
        if request.underlying not in self.catalog:
            return f"unknown instrument: no F&O contracts on {request.underlying}"
        instrument = self.catalog.get(request.underlying)
        unlisted = self._unlisted(request, instrument)
        if unlisted:
            return unlisted
        now = self.clock.now()
        last_session = self.calendar.session_on(request.expiry)
        if request.expiry < ist_date(now) or (
            last_session is not None and now >= last_session.close_at()
        ):
            return f"{request.tradingsymbol}: the contract expired on {request.expiry.isoformat()}; no orders on expired contracts"
        if not self.calendar.is_open(now):
            local = now.astimezone(IST)
            return (
                f"the market is closed: {instrument.exchange} F&O trades "
                f"{self.calendar.opens:%H:%M}-{self.calendar.closes:%H:%M} IST on trading days "
                f"(now {local:%a %Y-%m-%d %H:%M} IST)"
            )
        lot_size = instrument.lot_size_for_expiry(request.expiry)
        if request.quantity % lot_size:
            return f"quantity {request.quantity} is not a whole number of lots of {lot_size}"
        if request.quantity > instrument.freeze_quantity:
            return f"quantity {request.quantity} is above the freeze quantity {instrument.freeze_quantity}"
        price, trigger = request.price, request.trigger_price
        if request.order_type in (OrderType.LIMIT, OrderType.SL) and (price is None or price <= 0):
            return f"a {request.order_type} order needs a positive price"
        if request.order_type in STOPS and (trigger is None or trigger <= 0):
            return f"a {request.order_type} order needs a positive trigger price"
        tick = Decimal(instrument.tick_size)
        for name, value in (("price", price), ("trigger_price", trigger)):
            if value is not None and value % tick:
                return f"{name} {value} is not a multiple of the tick size {tick}"
        if trigger is not None and request.order_type in STOPS:
            return self._stop_rejection(request, trigger, price)
        return None

    def _unlisted(self, request: OrderRequest, instrument: Instrument) -> str | None:
        """Why the exchange lists no such contract, or None: the strike off the underlying's strike
        step, a date that is no expiry of it, a trading symbol that names another contract."""
        if request.strike <= 0 or request.strike % instrument.strike_step:
            return f"{request.tradingsymbol}: invalid instrument: {request.underlying} strikes are multiples of {instrument.strike_step}, not {request.strike}"
        (listed,) = self.expiries.expiries(instrument, request.expiry, 1)
        if listed.date != request.expiry:
            return f"{request.tradingsymbol}: invalid instrument: {request.underlying} has no contract expiring on {request.expiry.isoformat()}"
        names = {
            spell(request.underlying, listed, request.strike, request.option_type)
            for spell in (zerodha_symbol, angelone_symbol)
        }
        if request.tradingsymbol not in names:
            return f"{request.tradingsymbol}: invalid instrument: the {request.underlying} {request.expiry.isoformat()} {request.strike} {request.option_type} is {' or '.join(sorted(names))}"
        return None

    def _stop_rejection(
        self, request: OrderRequest, trigger: Decimal, price: Decimal | None
    ) -> str | None:
        """As the exchange: a stop must be on the far side of the market, or it is not a stop."""
        buying = request.transaction_type == Side.BUY
        last = self.market.quote(
            request.underlying,
            request.expiry,
            request.strike,
            request.option_type,
            self.clock.now(),
        ).last
        if buying and trigger <= last:
            return f"a buy stop's trigger must be above the last price {last}"
        if not buying and trigger >= last:
            return f"a sell stop's trigger must be below the last price {last}"
        if (
            request.order_type == OrderType.SL
            and price is not None
            and (price < trigger if buying else price > trigger)
        ):
            return "a stop-limit's price must be beyond its trigger (at or above it to buy, at or below it to sell)"
        return None
