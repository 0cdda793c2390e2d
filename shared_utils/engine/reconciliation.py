"""The Check Duplicate Orders handler's work, every minute: the orders placed in the last few
minutes, across every user (GSI1 time buckets: at most 2 x SCHEDULE_SHARDS queries), and every
order still working however old (a sparse GSI2 partition set: SCHEDULE_SHARDS queries), against
each account's order book at its broker. Every order carries a tag derived from its execution, leg,
account and slice, so the broker's orders with that tag are exactly the copies of it.

- One copy: it is ours, and our record catches up with it. A resting order that has filled since
  is recorded and moves its position; one that lapsed, was cancelled or rejected gives back the
  closing claim it held.
- More than one: the order reached the broker twice. Ours is the one our record names (else the
  first placed); each extra copy still
  working is cancelled; an extra copy that filled is recorded as a DUPLICATE fill, so the position
  (and so the exit) matches what the account really holds. Each extra copy raises one alert on the
  bus.
- None, for an intent older than INTENT_GRACE: the order never reached the broker: FAILED.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.broker import Broker, BrokerOrder
from shared_utils.domain.clock import Clock, utc_iso
from shared_utils.domain.enums import WORKING_ORDER_STATUSES, OrderStatus
from shared_utils.domain.errors import Conflict
from shared_utils.engine.executor import order_bucket_start
from shared_utils.engine.positions import PositionBook

INTENT_GRACE = timedelta(minutes=2)
GAVE_UP = ("LAPSED", "CANCELLED", "REJECTED")
CLOSING = ("EXIT", "STOP_LOSS")


@dataclass
class ReconciliationResult:
    orders_checked: int = 0
    accounts_checked: int = 0
    index_queries: int = 0
    filled_since: int = 0
    ended_unfilled: int = 0
    never_reached_broker: int = 0
    duplicates_found: int = 0
    duplicates_cancelled: int = 0
    alerts: int = 0
    account_errors: list[str] = field(default_factory=list)
    order_errors: list[str] = field(default_factory=list)


class OrderReconciliation:
    def __init__(
        self,
        repository: ConfigurationRepository,
        clock: Clock,
        broker_for: Callable[[str, str, str, str], Broker],
        publish: Callable[[list[dict[str, Any]]], None],
        alert: dict[str, str],
        lookback: timedelta = timedelta(minutes=5),
    ):
        self.repository, self.clock, self.broker_for, self.publish = (
            repository,
            clock,
            broker_for,
            publish,
        )
        self.alert, self.lookback = alert, lookback
        self.book = PositionBook(repository, clock)

    def run(self) -> ReconciliationResult:
        result = ReconciliationResult()
        now = self.clock.now()
        orders = self._recent_orders(now, result)
        accounts: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
        for order in orders:
            accounts[
                (order[keys.PK], order["client_id"], order["broker"], order.get("mode", "PAPER"))
            ].append(order)
        alerts: list[dict[str, Any]] = []
        for (user_id, client_id, broker_name, mode), ours in sorted(accounts.items()):
            try:
                broker = self.broker_for(user_id, client_id, broker_name, mode)
                copies: dict[str, list[BrokerOrder]] = defaultdict(list)
                for placed in broker.order_book():
                    copies[placed.tag].append(placed)
            except Exception as error:
                result.account_errors.append(f"{client_id}: {type(error).__name__}: {error}")
                continue
            result.accounts_checked += 1
            for order in ours:
                result.orders_checked += 1
                # Ours is the copy our record names; failing that, the first placed.
                found = sorted(
                    copies.get(order["tag"], []),
                    key=lambda o: (
                        o.order_id != order.get("broker_order_id"),
                        o.placed_at,
                        o.order_id,
                    ),
                )
                try:
                    self._catch_up(order, found[0] if found else None, now, result)
                    for extra in found[1:]:
                        alert = self._duplicate(order, extra, broker, result)
                        if alert:
                            alerts.append(alert)
                except Exception as error:  # one order must not keep the others unreconciled
                    result.order_errors.append(f"{order['tag']}: {type(error).__name__}: {error}")
        if alerts:
            self.publish(alerts)
            result.alerts = len(alerts)
        return result

    # -- finding -------------------------------------------------------------------------------
    def _recent_orders(self, now: datetime, result: ReconciliationResult) -> list[dict]:
        buckets, moment = [], now - self.lookback
        while moment <= now:
            start = order_bucket_start(moment)
            if start not in buckets:
                buckets.append(start)
            moment += timedelta(minutes=keys.ORDER_BUCKET_MINUTES)
        if order_bucket_start(now) not in buckets:
            buckets.append(order_bucket_start(now))
        partitions = [
            (keys.GSI1, keys.GSI1_PK, keys.order_bucket(b, shard))
            for b in buckets
            for shard in range(keys.SCHEDULE_SHARDS)
        ]
        # Orders still working, however long ago they were placed: they may yet fill or lapse.
        partitions += [
            (keys.GSI2, keys.GSI2_PK, keys.working_orders(shard))
            for shard in range(keys.SCHEDULE_SHARDS)
        ]
        result.index_queries = len(partitions)
        with ThreadPoolExecutor(max_workers=min(16, len(partitions))) as pool:
            found = pool.map(lambda p: self.repository.query_index(*p), partitions)
        unique = {}
        for item in (item for items in found for item in items):
            if item.get("entity_type") == "ORDER" and not item.get("duplicate_of"):
                unique[(item[keys.PK], item[keys.SK])] = item
        return list(unique.values())

    # -- one copy: ours ------------------------------------------------------------------------
    def _catch_up(
        self, order: dict, placed: BrokerOrder | None, now: datetime, result: ReconciliationResult
    ) -> None:
        status = order.get("status")
        if placed is None:
            placed_at = datetime.fromisoformat(order["placed_at"].replace("Z", "+00:00"))
            if status == "INTENT" and now - placed_at >= INTENT_GRACE:
                if self._move(
                    order, "FAILED", reason="never reached the broker (no order carries its tag)"
                ):
                    result.never_reached_broker += 1
                    self._give_back_claim(order)
            return
        if status == OrderStatus.COMPLETE or status == placed.status:
            return
        if placed.status == OrderStatus.COMPLETE:
            filled = {
                **order,
                "status": OrderStatus.COMPLETE,
                "broker_order_id": placed.order_id,
                "fill_price": placed.average_price,
                "status_message": placed.status_message,
                "filled_at": placed.updated_at,
            }
            if self.book.record_fill(filled) is not None:
                result.filled_since += 1
        elif placed.status in GAVE_UP:
            if self._move(
                order, placed.status, reason=placed.status_message, broker_order_id=placed.order_id
            ):
                result.ended_unfilled += 1
                self._give_back_claim(order)
        elif placed.status in WORKING_ORDER_STATUSES and status in ("INTENT", "FAILED"):
            # FAILED too: a send that timed out and found nothing may have reached the broker after all.
            self._move(order, placed.status, broker_order_id=placed.order_id)

    def _move(self, order: dict, status: str, **fields) -> bool:
        """Change our record's status, only from the one we read (a concurrent writer wins). A
        working order is in the working-orders index; any other leaves it."""
        fields = {name: value for name, value in fields.items() if value is not None}
        if status in WORKING_ORDER_STATUSES:
            fields.update(
                keys.working_order_index(order[keys.PK], order["client_id"], order[keys.SK])
            )
        sets = "".join(f", #f{i} = :f{i}" for i in range(len(fields)))
        names = {"#status": "status", **{f"#f{i}": name for i, name in enumerate(fields)}}
        values = {
            ":new": status,
            ":old": order["status"],
            **{f":f{i}": value for i, value in enumerate(fields.values())},
        }
        removal = "" if status in WORKING_ORDER_STATUSES else f" REMOVE {keys.GSI2_PK}, {keys.GSI2_SK}"
        try:
            self.repository.commit(
                [
                    db.update(
                        order[keys.PK],
                        order[keys.SK],
                        "SET #status = :new" + sets + removal,
                        "#status = :old",
                        Conflict("moved"),
                        names=names,
                        values=values,
                    )
                ]
            )
            return True
        except Conflict:
            return False

    def _give_back_claim(self, order: dict) -> None:
        if order.get("execution_type") in CLOSING:
            position_key = keys.position(
                order["strategy_id"],
                order["client_id"],
                int(order["leg_no"]),
                order["tradingsymbol"],
            )
            self.book.release(order[keys.PK], position_key, order["execution_key"])

    # -- more than one copy --------------------------------------------------------------------
    def _duplicate(
        self, order: dict, extra: BrokerOrder, broker: Broker, result: ReconciliationResult
    ) -> dict | None:
        result.duplicates_found += 1
        if extra.status in WORKING_ORDER_STATUSES:
            try:
                extra = broker.cancel_order(extra.order_id)
                result.duplicates_cancelled += 1
            except Exception:
                extra = broker.order_status(
                    extra.order_id
                )  # it filled or ended meanwhile: record what it is
        record = {
            **{
                k: v
                for k, v in order.items()
                if k
                not in (
                    keys.GSI1_PK,
                    keys.GSI1_SK,
                    keys.GSI2_PK,
                    keys.GSI2_SK,
                    "position_applied",
                    "reason",
                )
            },
            keys.SK: f"{order[keys.SK]}#DUPLICATE#{extra.order_id}",
            "duplicate_of": order["tag"],
            "status": extra.status,
            "broker_order_id": extra.order_id,
            "fill_price": extra.average_price,
            "status_message": extra.status_message,
            "placed_at": extra.placed_at,
        }
        if extra.status == OrderStatus.COMPLETE:
            new = (
                self.book.record_fill(record) is not None
            )  # the account holds it: so must our position
        else:
            try:
                self.repository.commit([db.put_new(record, Conflict("known"))])
                new = True
            except Conflict:
                new = False
        if not new:
            return None  # flagged by an earlier run: alert once
        detail = {
            "user_id": order[keys.PK],
            "strategy_id": order["strategy_id"],
            "client_id": order["client_id"],
            "leg_no": int(order["leg_no"]),
            "tag": order["tag"],
            "execution_key": order["execution_key"],
            "our_order_id": order.get("broker_order_id"),
            "duplicate_order_id": extra.order_id,
            "duplicate_status": extra.status,
            "quantity": int(order["quantity"]),
            "detected_at": utc_iso(self.clock.now()),
        }
        return {
            "Source": self.alert["source"],
            "DetailType": self.alert["detail_type"],
            "Detail": json.dumps(detail),
            "Time": self.clock.now().astimezone(UTC),
        }
