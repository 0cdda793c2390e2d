"""The paper broker that fills like a real market.

What traders complain other paper modes lack, the paper broker does:
- a MARKET order fills at the ask (buy) or the bid (sell), not at the last price;
- a LIMIT order fills only when the market crosses it: at once (at the better touch) if it is
  marketable when placed, else at its limit when the market later reaches it;
- SL orders wait for their trigger, then work as a LIMIT; SL-M orders then fill as MARKET;
- an order above the freeze quantity, or not in whole lots, is rejected as the exchange would, and
  so is one outside the session (the market closed), on a contract that has expired, or on one
  that is not listed (an unknown underlying, strike, expiry or trading symbol): each with a message
  in the broker's words, which the executor keeps as the order's reason;
- every order carries the client tag (at most 20 letters and digits) and can be found by it.
Its orders and positions are items in the table, per user and account, so they survive restarts
(their layout is the DynamoDB adapter's `PaperBooks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared_utils.adapters.brokers.paper.exchange import STOPS, ExchangeRules
from shared_utils.adapters.dynamodb.paper_books import PaperBooks
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.broker import BrokerOrder, BrokerPosition, OrderRequest
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.enums import OptionType, OrderStatus, OrderType, Side
from shared_utils.domain.errors import Conflict, NotFound
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.engine.positions import net_fill
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider, OptionQuote
from shared_utils.market.margin import Holding, MarginModel, built_in_margin_model

# A stop, once triggered, works as this kind of order.
TRIGGERED_AS = {OrderType.SL: OrderType.LIMIT, OrderType.SL_M: OrderType.MARKET}
DEFAULT_PAPER_FUNDS = Decimal("1000000")
FILL_ATTEMPTS = 8


class PaperBroker:
    def __init__(
        self,
        repository: ConfigurationRepository,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        calendar: TradingCalendar,
        clock: Clock,
        user_id: str,
        client_id: str,
        new_order_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16].upper(),  # noqa: PLW0108 (a new id per call)
        margin_model: MarginModel | None = None,
    ):
        self.books = PaperBooks(repository, user_id, client_id)
        self.market, self.catalog, self.calendar, self.clock = market, catalog, calendar, clock
        self.client_id, self.new_order_id = client_id, new_order_id
        self.margin_model = margin_model or built_in_margin_model()
        self.exchange = ExchangeRules(market, catalog, calendar, clock)

    # -- the interface -------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> BrokerOrder:
        now = utc_iso(self.clock.now())
        order = BrokerOrder(
            **request.model_dump(),
            order_id=self.new_order_id(),
            client_id=self.client_id,
            status=OrderStatus.OPEN,
            placed_at=now,
            updated_at=now,
        )
        problem = self.exchange.rejection(request)
        if problem:
            order = order.model_copy(
                update={"status": OrderStatus.REJECTED, "status_message": problem}
            )
            self.books.add_order(order, Conflict("order id collision"))
            return order
        if order.order_type in STOPS:
            order = order.model_copy(update={"status": OrderStatus.TRIGGER_PENDING})
        self.books.add_order(order, Conflict("order id collision"))
        return self._settle(order, arriving=True)

    def modify_order(
        self, order_id: str, *, price: Decimal | None = None, trigger_price: Decimal | None = None
    ) -> BrokerOrder:
        order = self.order_status(order_id)
        if not order.status.working:
            raise Conflict(
                f"order {order_id} is {order.status}; only an open order can be modified"
            )
        changes: dict[str, object] = {
            "updated_at": utc_iso(self.clock.now()),
            "version": order.version + 1,
        }
        if price is not None:
            changes["price"] = price
        if trigger_price is not None:
            changes["trigger_price"] = trigger_price
        modified = order.model_copy(update=changes)
        self.books.replace_order(modified, order.version, self._changed(order_id))
        return self._settle(modified, arriving=True)

    def cancel_order(self, order_id: str) -> BrokerOrder:
        order = self.order_status(order_id)
        if not order.status.working:
            raise Conflict(
                f"order {order_id} is {order.status}; only an open order can be cancelled"
            )
        cancelled = order.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "updated_at": utc_iso(self.clock.now()),
                "version": order.version + 1,
            }
        )
        self.books.replace_order(cancelled, order.version, self._changed(order_id))
        return cancelled

    def order_status(self, order_id: str) -> BrokerOrder:
        order = self.books.order(order_id)
        if order is None:
            raise NotFound(f"no order {order_id} on {self.client_id}")
        return self._settle(order)

    def order_book(self) -> list[BrokerOrder]:
        return [self._settle(order) for order in self.books.orders()]

    def orders_by_tag(self, tag: str) -> list[BrokerOrder]:
        return [self._settle(order) for order in self.books.orders(tag=tag)]

    def positions(self) -> list[BrokerPosition]:
        self.order_book()  # resting orders the market has reached fill first
        return self.books.positions()

    def margin_utilization(self, requests: list[OrderRequest]) -> Decimal:
        """Percent of the account's funds its positions would block once these orders filled."""
        funds = self.books.funds()
        if funds is None:
            funds = DEFAULT_PAPER_FUNDS
        now = self.clock.now()
        held: dict[tuple[str, date, OptionType, Decimal], tuple[int, Decimal]] = {}
        for position in self.books.positions():
            if position.expiry < ist_date(now):
                continue  # settled by the exchange: it blocks nothing any more
            held[(position.underlying, position.expiry, position.option_type, position.strike)] = (
                position.quantity,
                position.average_price,
            )
        for request in requests:
            key = (request.underlying, request.expiry, request.option_type, request.strike)
            price = request.price if request.price is not None else self._quote(request).ask
            if key in held:
                quantity, average, _ = net_fill(*held[key], request.signed_quantity, price)
            else:
                quantity, average = request.signed_quantity, price
            held[key] = (quantity, average)
        holdings = [Holding(u, e, t, k, q, p) for (u, e, t, k), (q, p) in held.items() if q]
        blocked = self.margin_model.required(
            holdings, lambda underlying: self.market.spot(underlying, now)
        )
        return (blocked * 100 / funds).quantize(Decimal("0.01"))

    # -- matching ------------------------------------------------------------------------------
    def _settle(self, order: BrokerOrder, arriving: bool = False) -> BrokerOrder:
        """Work the order; if another request moved it meanwhile (a conditional write lost), what
        is stored is the truth: the order may well have filled, and saying "failed" would invite a
        second order."""
        try:
            return self._work(order, arriving)
        except Conflict:
            stored = self.books.order(order.order_id)
            if stored is None:
                raise NotFound(f"no order {order.order_id} on {self.client_id}") from None
            return stored

    def _work(self, order: BrokerOrder, arriving: bool = False) -> BrokerOrder:
        """Bring a working order up to the market now: trigger it, fill it, lapse it, or leave it.

        An arriving order (placed or modified) is judged on the market now. A resting one is judged
        minute by minute since it was last worked, so a stop the market touched and left between two
        reads still triggers, and fills as the market was then. A marketable order fills at the
        touch; a resting limit the market reaches later fills at its own limit."""
        if not order.status.working:
            return order
        now = self.clock.now()
        moments = [now] if arriving else self._minutes_since(order, now)
        buying = order.transaction_type == Side.BUY
        kind = TRIGGERED_AS.get(order.order_type, order.order_type)
        for moment in moments:
            if not self.calendar.is_open(moment):
                if self._past_close(order, moment):
                    return self._save(
                        order,
                        status=OrderStatus.LAPSED,
                        message="a DAY order still working at the close lapses",
                        at=moment,
                    )
                continue
            quote = self._quote(order, moment)
            just_triggered = False
            if order.status == OrderStatus.TRIGGER_PENDING:
                trigger = _required(order.trigger_price, "trigger price", order)
                if not (quote.last >= trigger if buying else quote.last <= trigger):
                    continue
                just_triggered = True
            touch = quote.ask if buying else quote.bid
            if kind == OrderType.MARKET:
                if touch > 0:
                    return self._fill(order, touch, moment)
                continue
            limit = _required(order.price, "price", order)
            if touch > 0 and (touch <= limit if buying else touch >= limit):
                return self._fill(order, touch if (arriving or just_triggered) else limit, moment)
            if just_triggered:
                # A stop-limit whose limit the market has already passed rests as a plain limit.
                return self._save(order, status=OrderStatus.OPEN, at=moment)
        return order

    def _minutes_since(self, order: BrokerOrder, now: datetime) -> list[datetime]:
        last = datetime.fromisoformat(order.updated_at.replace("Z", "+00:00"))
        moments, moment = [], last + timedelta(minutes=1)
        while moment < now:
            moments.append(moment)
            moment += timedelta(minutes=1)
        return [*moments, now]

    def _past_close(self, order: BrokerOrder, moment: datetime) -> bool:
        placed = datetime.fromisoformat(order.placed_at.replace("Z", "+00:00"))
        session = self.calendar.session_on(placed.astimezone(IST).date())
        return session is None or moment >= session.close_at()

    def _quote(self, order: OrderRequest, at: datetime | None = None) -> OptionQuote:
        return self.market.quote(
            order.underlying, order.expiry, order.strike, order.option_type, at or self.clock.now()
        )

    def _save(
        self,
        order: BrokerOrder,
        status: OrderStatus,
        message: str | None = None,
        at: datetime | None = None,
    ) -> BrokerOrder:
        updated = order.model_copy(
            update={
                "status": status,
                "status_message": message,
                "updated_at": utc_iso(at or self.clock.now()),
                "version": order.version + 1,
            }
        )
        self.books.replace_order(updated, order.version, self._changed(order.order_id))
        return updated

    def _fill(self, order: BrokerOrder, price: Decimal, at: datetime) -> BrokerOrder:
        filled = order.model_copy(
            update={
                "status": OrderStatus.COMPLETE,
                "filled_quantity": order.quantity,
                "average_price": price,
                "updated_at": utc_iso(at),
                "version": order.version + 1,
            }
        )
        order_moved = self._changed(order.order_id)
        for _ in range(FILL_ATTEMPTS):
            position = self.books.position(order.tradingsymbol)
            try:
                self.books.record_fill(
                    filled,
                    order.version,
                    order_moved,
                    _apply_fill(position, order, price, self.client_id),
                    None if position is None else position.version,
                    self._changed(order.tradingsymbol),
                )
                return filled
            except Conflict as error:
                if error is order_moved:
                    raise  # another request moved this order: what is stored is the truth
                # Another fill on the same contract in this account moved the position: net again.
        raise self._changed(order.tradingsymbol)

    @staticmethod
    def _changed(what: str) -> Conflict:
        return Conflict(f"{what} changed while this request worked on it; retry")


def _required(value: Decimal | None, what: str, order: BrokerOrder) -> Decimal:
    """A working order's price or trigger: placing it refused an order without, so a missing one
    is a broken book, not a market condition."""
    if value is None:
        raise ValueError(f"order {order.order_id} is a {order.order_type} order without a {what}")
    return value


def _apply_fill(
    position: BrokerPosition | None, order: BrokerOrder, price: Decimal, client_id: str
) -> BrokerPosition:
    """Net the fill into the account's position (the same netting as the platform's own positions)."""
    signed = order.signed_quantity
    if position is None:
        return BrokerPosition(
            client_id=client_id,
            tradingsymbol=order.tradingsymbol,
            underlying=order.underlying,
            expiry=order.expiry,
            strike=order.strike,
            option_type=order.option_type,
            quantity=signed,
            average_price=price,
        )
    quantity, average, realised = net_fill(position.quantity, position.average_price, signed, price)
    return position.model_copy(
        update={
            "quantity": quantity,
            "average_price": average,
            "realised_pnl": position.realised_pnl + realised,
            "version": position.version + 1,
        }
    )
