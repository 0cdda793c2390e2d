"""The executor's orders in the table (ORDER#YYYYMMDD#tag, the execution's IST trading day).

Every order sits in the 5-minute bucket of GSI1 it was last written in (the duplicate-order
reconciliation reads the last few buckets across every user), and, while it may still fill (INTENT,
OPEN, TRIGGER_PENDING), in the sparse working-orders partitions of GSI2.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.records import item_of, record_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.enums import OrderStatus
from shared_utils.domain.errors import Conflict
from shared_utils.engine.records import OrderRecord

ENTITY = "ORDER"


def order_item(order: OrderRecord) -> dict[str, Any]:
    """The order as stored: in the GSI1 bucket of when it was placed (`placed_at`, the time of this
    write), and among the working orders while it may still fill."""
    if order.key is None:
        raise ValueError(f"order {order.tag} has no key: ask the store for its order_key")
    placed = datetime.fromisoformat(order.placed_at.replace("Z", "+00:00"))
    index = keys.order_index(
        keys.order_bucket_start(placed), order.user_id, order.client_id, order.key
    )
    if order.status is OrderStatus.INTENT or order.status.working:
        index |= keys.working_order_index(order.user_id, order.client_id, order.key)
    return item_of(order, order.key, ENTITY, **index)


class OrderTable:
    """The engine's OrderStore on the single table."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def order_key(self, execution_date: str, tag: str) -> str:
        return keys.order(execution_date, tag)

    def record_intent(self, order: OrderRecord) -> bool:
        try:
            self.repository.commit([db.put_new(order_item(order), Conflict("intent exists"))])
        except Conflict:
            return False
        return True

    def get(self, user_id: str, key: str) -> OrderRecord | None:
        item = self.repository.get(user_id, key)
        return record_of(OrderRecord, item) if item else None

    def save_unless_applied(self, order: OrderRecord) -> OrderRecord:
        item = order_item(order)
        try:
            self.repository.commit(
                [
                    db.Write(
                        "Put",
                        {keys.PK: order.user_id, keys.SK: item[keys.SK]},
                        item=item,
                        condition="attribute_not_exists(position_applied)",
                        on_condition_failure=Conflict("applied"),
                    )
                ]
            )
        except Conflict:
            stored = self.get(order.user_id, item[keys.SK])
            if stored is None:  # a condition on an item that exists cannot fail on a missing one
                raise
            return stored
        return order

    def orders(
        self,
        user_id: str,
        on: date | None,
        strategy_id: str | None = None,
        client_id: str | None = None,
    ) -> list[OrderRecord]:
        filters = {k: v for k, v in (("strategy_id", strategy_id), ("client_id", client_id)) if v}
        items, _ = self.repository.query_prefix(
            user_id, keys.orders_on(on), filters=filters or None
        )
        return [record_of(OrderRecord, item) for item in items]
