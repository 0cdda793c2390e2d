"""The broker interface: what the engine asks of any broker, paper or live.

The engine depends on this module only; each broker is an adapter behind it, chosen by a registry
from the account's broker and mode, so a new broker never touches the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, Field

from shared_utils.domain.enums import (
    AccountMode,
    BrokerName,
    OptionType,
    OrderStatus,
    OrderType,
    Product,
    Side,
)


class OrderRequest(BaseModel):
    tradingsymbol: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: OptionType
    transaction_type: Side
    quantity: int = Field(gt=0)
    order_type: OrderType
    product: Product = Product.NRML
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tag: str

    @property
    def signed_quantity(self) -> int:
        """Units the order adds to the account's holding: negative when it sells."""
        return self.quantity * self.transaction_type.sign


class BrokerOrder(OrderRequest):
    order_id: str
    client_id: str
    status: OrderStatus
    status_message: str | None = None
    filled_quantity: int = 0
    average_price: Decimal | None = None
    placed_at: str
    updated_at: str
    version: int = 1


class BrokerPosition(BaseModel):
    """What the account holds of one contract, as the broker reports it."""

    client_id: str
    tradingsymbol: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: OptionType
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
    def positions(self) -> list[BrokerPosition]: ...
    def margin_utilization(self, requests: list[OrderRequest]) -> Decimal:
        """Percent of the account's funds its positions would block once these orders filled."""
        ...


BrokerFor = Callable[[str, str, BrokerName, AccountMode], Broker]
"""(user_id, client_id, broker, mode) -> the broker that trades that account. It raises when the
account cannot trade (a LIVE account without a broker adapter); the executor records the refusal."""
