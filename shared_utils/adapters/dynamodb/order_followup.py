"""What the duplicate-order reconciliation reads and changes of our orders in the table.

It finds the orders to check across every user without a per-user query: the last few 5-minute
buckets of GSI1 (each shard of each bucket one query) and the sparse working-orders partitions of
GSI2 (an order is there while it may still fill, however long it rests).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.orders import ENTITY
from shared_utils.adapters.dynamodb.records import item_of, records_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.enums import WORKING_ORDER_STATUSES, OrderStatus
from shared_utils.domain.errors import Conflict
from shared_utils.engine.records import Found, OrderRecord


class OrderFollowUpTable:
    """The reconciliation's OrderFollowUp on the single table."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def to_reconcile(self, since: datetime, now: datetime) -> tuple[Found[OrderRecord], int]:
        """Our orders placed between `since` and `now` and every order still working, each once
        (extra copies we recorded are not ours to check), and how many index queries found them."""
        buckets: list[str] = []
        moment = since
        while moment <= now:
            start = keys.order_bucket_start(moment)
            if start not in buckets:
                buckets.append(start)
            moment += timedelta(minutes=keys.ORDER_BUCKET_MINUTES)
        if keys.order_bucket_start(now) not in buckets:
            buckets.append(keys.order_bucket_start(now))
        partitions = [
            (keys.GSI1, keys.GSI1_PK, keys.order_bucket(bucket, shard))
            for bucket in buckets
            for shard in range(keys.SCHEDULE_SHARDS)
        ]
        partitions += [
            (keys.GSI2, keys.GSI2_PK, keys.working_orders(shard))
            for shard in range(keys.SCHEDULE_SHARDS)
        ]
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for item in self.repository.query_index_partitions(partitions):
            if item.get("entity_type") == ENTITY and not item.get("duplicate_of"):
                unique[(item[keys.PK], item[keys.SK])] = item
        return records_of(OrderRecord, unique.values()), len(partitions)

    def move(
        self,
        order: OrderRecord,
        status: OrderStatus,
        *,
        reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> bool:
        """Change the order's status, only from the one we read (a concurrent writer wins): whether
        it moved. A working order is in the working-orders index; any other leaves it."""
        if order.key is None:
            raise ValueError(f"order {order.tag} has no key")
        fields: dict[str, Any] = {
            name: value
            for name, value in (("reason", reason), ("broker_order_id", broker_order_id))
            if value is not None
        }
        working = status in WORKING_ORDER_STATUSES
        if working:
            fields.update(keys.working_order_index(order.user_id, order.client_id, order.key))
        sets = "".join(f", #f{i} = :f{i}" for i in range(len(fields)))
        names = {"#status": "status", **{f"#f{i}": name for i, name in enumerate(fields)}}
        values = {
            ":new": status,
            ":old": order.status,
            **{f":f{i}": value for i, value in enumerate(fields.values())},
        }
        removal = "" if working else f" REMOVE {keys.GSI2_PK}, {keys.GSI2_SK}"
        try:
            self.repository.commit(
                [
                    db.update(
                        order.user_id,
                        order.key,
                        "SET #status = :new" + sets + removal,
                        "#status = :old",
                        Conflict("moved"),
                        names=names,
                        values=values,
                    )
                ]
            )
        except Conflict:
            return False
        return True

    def duplicate_key(self, order: OrderRecord, broker_order_id: str) -> str:
        """Where the extra copy `broker_order_id` of our `order` is recorded, beside it."""
        if order.key is None:
            raise ValueError(f"order {order.tag} has no key")
        return keys.duplicate_order(order.key, broker_order_id)

    def record_duplicate(self, copy: OrderRecord) -> bool:
        """Record an extra copy that did not fill, unless an earlier run did: whether it is new."""
        if copy.key is None:
            raise ValueError(f"the copy of {copy.tag} has no key: ask for its duplicate_key")
        try:
            self.repository.commit([db.put_new(item_of(copy, copy.key, ENTITY), Conflict("known"))])
        except Conflict:
            return False
        return True
