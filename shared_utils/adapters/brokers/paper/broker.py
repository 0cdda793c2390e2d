"""The broker interface, and the paper broker that fills like a real market.

What traders complain other paper modes lack, the paper broker does:
- a MARKET order fills at the ask (buy) or the bid (sell), not at the last price;
- a LIMIT order fills only when the market crosses it: at once (at the better touch) if it is
  marketable when placed, else at its limit when the market later reaches it;
- SL orders wait for their trigger, then work as a LIMIT; SL-M orders then fill as MARKET;
- an order above the freeze quantity, or not in whole lots, is rejected as the exchange would;
- every order carries the client tag (at most 20 letters and digits) and can be found by it.
Its orders and positions are items in the table, per user and account, so they survive restarts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, Field

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.errors import Conflict, NotFound
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.engine.positions import net_fill
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider, OptionQuote
from shared_utils.market.margin import Holding, MarginModel, built_in_margin_model

TAG = re.compile(r"^[A-Za-z0-9]{1,20}$")
OPEN, TRIGGER_PENDING, COMPLETE, REJECTED, CANCELLED = (
    "OPEN",
    "TRIGGER_PENDING",
    "COMPLETE",
    "REJECTED",
    "CANCELLED",
)
LAPSED = "LAPSED"  # a DAY order still working when its session closed
WORKING = (OPEN, TRIGGER_PENDING)


class OrderRequest(BaseModel):
    tradingsymbol: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: str  # CALL | PUT
    transaction_type: str  # BUY | SELL
    quantity: int = Field(gt=0)
    order_type: str  # MARKET | LIMIT | SL | SL-M
    product: str = "NRML"
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tag: str


class BrokerOrder(OrderRequest):
    order_id: str
    client_id: str
    status: str
    status_message: str | None = None
    filled_quantity: int = 0
    average_price: Decimal | None = None
    placed_at: str
    updated_at: str
    version: int = 1


class Position(BaseModel):
    client_id: str
    tradingsymbol: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: str
    quantity: int  # net: negative when short
    average_price: Decimal
    realised_pnl: Decimal = Decimal(0)
    version: int = 1


class Broker(Protocol):
    def place_order(self, request: OrderRequest) -> BrokerOrder: ...
    def modify_order(
        self, order_id: str, *, price: Decimal | None = None, trigger_price: Decimal | None = None
    ) -> BrokerOrder: ...
    def cancel_order(self, order_id: str) -> BrokerOrder: ...
    def order_status(self, order_id: str) -> BrokerOrder: ...
    def order_book(self) -> list[BrokerOrder]: ...
    def orders_by_tag(self, tag: str) -> list[BrokerOrder]: ...
    def positions(self) -> list[Position]: ...
    def margin_utilization(self, requests: list[OrderRequest]) -> Decimal: ...


DEFAULT_PAPER_FUNDS = Decimal("1000000")


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
        self.repository, self.market, self.catalog, self.calendar, self.clock = (
            repository,
            market,
            catalog,
            calendar,
            clock,
        )
        self.user_id, self.client_id, self.new_order_id = user_id, client_id, new_order_id
        self.margin_model = margin_model or built_in_margin_model()

    # -- the interface -------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> BrokerOrder:
        now = utc_iso(self.clock.now())
        order = BrokerOrder(
            **request.model_dump(),
            order_id=self.new_order_id(),
            client_id=self.client_id,
            status=OPEN,
            placed_at=now,
            updated_at=now,
        )
        problem = self._rejection(request)
        if problem:
            order = order.model_copy(update={"status": REJECTED, "status_message": problem})
            self.repository.commit(
                [db.put_new(self._order_item(order), Conflict("order id collision"))]
            )
            return order
        if order.order_type in ("SL", "SL-M"):
            order = order.model_copy(update={"status": TRIGGER_PENDING})
        self.repository.commit(
            [db.put_new(self._order_item(order), Conflict("order id collision"))]
        )
        return self._settle(order, arriving=True)

    def modify_order(
        self, order_id: str, *, price: Decimal | None = None, trigger_price: Decimal | None = None
    ) -> BrokerOrder:
        order = self.order_status(order_id)
        if order.status not in WORKING:
            raise Conflict(
                f"order {order_id} is {order.status}; only an open order can be modified"
            )
        changes = {"updated_at": utc_iso(self.clock.now()), "version": order.version + 1}
        if price is not None:
            changes["price"] = price
        if trigger_price is not None:
            changes["trigger_price"] = trigger_price
        modified = order.model_copy(update=changes)
        self.repository.commit(
            [db.put_versioned(self._order_item(modified), order.version, self._changed(order_id))]
        )
        return self._settle(modified, arriving=True)

    def cancel_order(self, order_id: str) -> BrokerOrder:
        order = self.order_status(order_id)
        if order.status not in WORKING:
            raise Conflict(
                f"order {order_id} is {order.status}; only an open order can be cancelled"
            )
        cancelled = order.model_copy(
            update={
                "status": CANCELLED,
                "updated_at": utc_iso(self.clock.now()),
                "version": order.version + 1,
            }
        )
        self.repository.commit(
            [db.put_versioned(self._order_item(cancelled), order.version, self._changed(order_id))]
        )
        return cancelled

    def order_status(self, order_id: str) -> BrokerOrder:
        item = self.repository.get(self.user_id, self._order_key(order_id))
        if item is None:
            raise NotFound(f"no order {order_id} on {self.client_id}")
        return self._settle(BrokerOrder.model_validate(item))

    def order_book(self) -> list[BrokerOrder]:
        items, _ = self.repository.query_prefix(self.user_id, self._order_key(""))
        return [self._settle(BrokerOrder.model_validate(item)) for item in items]

    def orders_by_tag(self, tag: str) -> list[BrokerOrder]:
        items, _ = self.repository.query_prefix(
            self.user_id, self._order_key(""), filters={"tag": tag}
        )
        return [self._settle(BrokerOrder.model_validate(item)) for item in items]

    def positions(self) -> list[Position]:
        self.order_book()  # resting orders the market has reached fill first
        items, _ = self.repository.query_prefix(self.user_id, self._position_key(""))
        return [Position.model_validate(item) for item in items]

    def margin_utilization(self, requests: list[OrderRequest]) -> Decimal:
        """Percent of the account's funds its positions would block once these orders filled."""
        account = self.repository.get(self.user_id, keys.broker_account(self.client_id)) or {}
        funds = Decimal(str(account.get("paper_funds", DEFAULT_PAPER_FUNDS)))
        now = self.clock.now()
        held: dict[tuple, list] = {}
        items, _ = self.repository.query_prefix(self.user_id, self._position_key(""))
        for position in (Position.model_validate(item) for item in items):
            if position.expiry < ist_date(now):
                continue  # settled by the exchange: it blocks nothing any more
            held[(position.underlying, position.expiry, position.option_type, position.strike)] = [
                position.quantity,
                position.average_price,
            ]
        for request in requests:
            key = (request.underlying, request.expiry, request.option_type, request.strike)
            signed = request.quantity if request.transaction_type == "BUY" else -request.quantity
            price = request.price if request.price is not None else self._quote(request).ask
            quantity, average, _ = (
                net_fill(held[key][0], held[key][1], signed, price)
                if key in held
                else (signed, price, 0)
            )
            held[key] = [quantity, average]
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
            item = self.repository.get(self.user_id, self._order_key(order.order_id))
            return BrokerOrder.model_validate(item)

    def _rejection(self, request: OrderRequest) -> str | None:
        if not TAG.match(request.tag):
            return "tag must be 1 to 20 letters and digits"
        if request.underlying not in self.catalog:
            return f"unknown underlying {request.underlying}"
        now = self.clock.now()
        if not self.calendar.is_open(now):
            return "the market is closed"
        if request.expiry < ist_date(now):
            return f"the {request.expiry.isoformat()} contract has expired"
        instrument = self.catalog.get(request.underlying)
        lot_size = instrument.lot_size_for_expiry(request.expiry)
        if request.quantity % lot_size:
            return f"quantity {request.quantity} is not a whole number of lots of {lot_size}"
        if request.quantity > instrument.freeze_quantity:
            return f"quantity {request.quantity} is above the freeze quantity {instrument.freeze_quantity}"
        if request.order_type in ("LIMIT", "SL") and (request.price is None or request.price <= 0):
            return f"a {request.order_type} order needs a positive price"
        if request.order_type in ("SL", "SL-M") and (
            request.trigger_price is None or request.trigger_price <= 0
        ):
            return f"a {request.order_type} order needs a positive trigger price"
        if request.order_type not in ("MARKET", "LIMIT", "SL", "SL-M"):
            return f"unknown order type {request.order_type}"
        tick = Decimal(instrument.tick_size)
        for name in ("price", "trigger_price"):
            value = getattr(request, name)
            if value is not None and value % tick:
                return f"{name} {value} is not a multiple of the tick size {tick}"
        if request.order_type in ("SL", "SL-M"):
            buying = request.transaction_type == "BUY"
            last = self._quote(request).last
            # As the exchange: a stop must be on the far side of the market, or it is not a stop.
            if buying and request.trigger_price <= last:
                return f"a buy stop's trigger must be above the last price {last}"
            if not buying and request.trigger_price >= last:
                return f"a sell stop's trigger must be below the last price {last}"
            if request.order_type == "SL" and (
                request.price < request.trigger_price
                if buying
                else request.price > request.trigger_price
            ):
                return "a stop-limit's price must be beyond its trigger (at or above it to buy, at or below it to sell)"
        return None

    def _work(self, order: BrokerOrder, arriving: bool = False) -> BrokerOrder:
        """Bring a working order up to the market now: trigger it, fill it, lapse it, or leave it.

        An arriving order (placed or modified) is judged on the market now. A resting one is judged
        minute by minute since it was last worked, so a stop the market touched and left between two
        reads still triggers, and fills as the market was then. A marketable order fills at the
        touch; a resting limit the market reaches later fills at its own limit."""
        if order.status not in WORKING:
            return order
        now = self.clock.now()
        moments = [now] if arriving else self._minutes_since(order, now)
        for moment in moments:
            if not self.calendar.is_open(moment):
                if self._past_close(order, moment):
                    return self._save(
                        order,
                        status=LAPSED,
                        message="a DAY order still working at the close lapses",
                        at=moment,
                    )
                continue
            quote = self._quote(order, moment)
            buying = order.transaction_type == "BUY"
            just_triggered = False
            if order.status == TRIGGER_PENDING:
                if not (
                    quote.last >= order.trigger_price
                    if buying
                    else quote.last <= order.trigger_price
                ):
                    continue
                just_triggered = True
            kind = {"SL": "LIMIT", "SL-M": "MARKET"}.get(order.order_type, order.order_type)
            touch = quote.ask if buying else quote.bid
            if kind == "MARKET":
                if touch > 0:
                    return self._fill(order, touch, moment)
                continue
            if touch > 0 and (touch <= order.price if buying else touch >= order.price):
                return self._fill(
                    order, touch if (arriving or just_triggered) else order.price, moment
                )
            if just_triggered:
                # A stop-limit whose limit the market has already passed rests as a plain limit.
                return self._save(order, status=OPEN, at=moment)
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
        status: str,
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
        self.repository.commit(
            [
                db.put_versioned(
                    self._order_item(updated), order.version, self._changed(order.order_id)
                )
            ]
        )
        return updated

    def _fill(self, order: BrokerOrder, price: Decimal, at: datetime) -> BrokerOrder:
        filled = order.model_copy(
            update={
                "status": COMPLETE,
                "filled_quantity": order.quantity,
                "average_price": price,
                "updated_at": utc_iso(at),
                "version": order.version + 1,
            }
        )
        signed = order.quantity if order.transaction_type == "BUY" else -order.quantity
        order_moved = self._changed(order.order_id)
        for _ in range(8):
            item = self.repository.get(self.user_id, self._position_key(order.tradingsymbol))
            position = Position.model_validate(item) if item else None
            updated = _apply_fill(position, order, signed, price, self.client_id)
            position_write = (
                db.put_versioned(
                    self._position_item(updated),
                    position.version,
                    self._changed(order.tradingsymbol),
                )
                if position
                else db.put_new(self._position_item(updated), self._changed(order.tradingsymbol))
            )
            try:
                self.repository.commit(
                    [
                        db.put_versioned(self._order_item(filled), order.version, order_moved),
                        position_write,
                    ]
                )
                return filled
            except Conflict as error:
                if error is order_moved:
                    raise  # another request moved this order: what is stored is the truth
                # Another fill on the same contract in this account moved the position: net again.
        raise self._changed(order.tradingsymbol)

    # -- items ---------------------------------------------------------------------------------
    def _order_key(self, order_id: str) -> str:
        return f"PAPER_ORDER#{self.client_id}#{order_id}"

    def _position_key(self, tradingsymbol: str) -> str:
        return f"PAPER_POSITION#{self.client_id}#{tradingsymbol}"

    def _order_item(self, order: BrokerOrder) -> dict[str, Any]:
        return {
            keys.PK: self.user_id,
            keys.SK: self._order_key(order.order_id),
            "entity_type": "PAPER_ORDER",
            **order.model_dump(mode="python", exclude_none=True),
            "expiry": order.expiry.isoformat(),
        }

    def _position_item(self, position: Position) -> dict[str, Any]:
        return {
            keys.PK: self.user_id,
            keys.SK: self._position_key(position.tradingsymbol),
            "entity_type": "PAPER_POSITION",
            **position.model_dump(mode="python"),
            "expiry": position.expiry.isoformat(),
        }

    @staticmethod
    def _changed(what: str) -> Conflict:
        return Conflict(f"{what} changed while this request worked on it; retry")


def _apply_fill(
    position: Position | None, order: BrokerOrder, signed: int, price: Decimal, client_id: str
) -> Position:
    """Net the fill into the account's position (the same netting as the platform's own positions)."""
    if position is None:
        return Position(
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
