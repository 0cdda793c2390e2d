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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared_utils.domain.broker import Broker, BrokerFor, BrokerOrder
from shared_utils.domain.clock import Clock, utc_iso
from shared_utils.domain.enums import WORKING_ORDER_STATUSES, AccountMode, BrokerName, OrderStatus
from shared_utils.engine.positions import PositionStore
from shared_utils.engine.records import Found, OrderRecord, unplaced_reason

INTENT_GRACE = timedelta(minutes=2)
GAVE_UP = (OrderStatus.LAPSED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class OrderFollowUp(Protocol):
    """What the reconciliation reads and changes of our orders."""

    def to_reconcile(self, since: datetime, now: datetime) -> tuple[Found[OrderRecord], int]:
        """Our orders placed since `since` and every order still working, across every user (and
        the items that did not read as one), and how many index queries that took (a number that
        does not grow with users)."""
        ...

    def move(
        self,
        order: OrderRecord,
        status: OrderStatus,
        *,
        reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> bool:
        """Change the order's status from the one we read: whether it moved (a concurrent writer
        wins)."""
        ...

    def duplicate_key(self, order: OrderRecord, broker_order_id: str) -> str:
        """The key of the record of an extra copy of `order` at the broker."""
        ...

    def record_duplicate(self, copy: OrderRecord) -> bool:
        """Record an extra copy that did not fill, once: whether it was new."""
        ...


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


Account = tuple[str, str, BrokerName, AccountMode]  # user_id, client_id, broker, mode


class OrderReconciliation:
    def __init__(
        self,
        orders: OrderFollowUp,
        positions: PositionStore,
        clock: Clock,
        broker_for: BrokerFor,
        publish: Callable[[list[dict[str, Any]]], None],
        alert: dict[str, str],
        lookback: timedelta = timedelta(minutes=5),
    ):
        self.orders, self.positions, self.clock = orders, positions, clock
        self.broker_for, self.publish = broker_for, publish
        self.alert, self.lookback = alert, lookback

    def run(self) -> ReconciliationResult:
        result = ReconciliationResult()
        now = self.clock.now()
        reading, result.index_queries = self.orders.to_reconcile(now - self.lookback, now)
        # An order whose record does not read is reported; every other order is still checked.
        result.order_errors += [str(unreadable) for unreadable in reading.unreadable]
        accounts: dict[Account, list[OrderRecord]] = defaultdict(list)
        for order in reading.records:
            accounts[(order.user_id, order.client_id, order.broker, order.mode)].append(order)
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
                try:
                    found = _ours_first(order, copies.get(order.tag, []))
                    self._catch_up(order, found[0] if found else None, now, result)
                    for extra in found[1:]:
                        alert = self._duplicate(order, extra, broker, result)
                        if alert:
                            alerts.append(alert)
                except Exception as error:  # one order must not keep the others unreconciled
                    result.order_errors.append(f"{order.tag}: {type(error).__name__}: {error}")
        if alerts:
            self.publish(alerts)
            result.alerts = len(alerts)
        return result

    # -- one copy: ours ------------------------------------------------------------------------
    def _catch_up(
        self,
        order: OrderRecord,
        placed: BrokerOrder | None,
        now: datetime,
        result: ReconciliationResult,
    ) -> None:
        status = order.status
        if placed is None:
            placed_at = datetime.fromisoformat(order.placed_at.replace("Z", "+00:00"))
            if (
                status == OrderStatus.INTENT
                and now - placed_at >= INTENT_GRACE
                and self.orders.move(
                    order,
                    OrderStatus.FAILED,
                    reason="never reached the broker (no order carries its tag)",
                )
            ):
                result.never_reached_broker += 1
                self._give_back_claim(order)
            return
        if status in (OrderStatus.COMPLETE, placed.status):
            return
        if placed.status == OrderStatus.COMPLETE:
            filled = order.model_copy(
                update={
                    "status": OrderStatus.COMPLETE,
                    "broker_order_id": placed.order_id,
                    "fill_price": placed.average_price,
                    "status_message": placed.status_message,
                    "filled_at": placed.updated_at,
                }
            )
            if self.positions.record_fill(filled) is not None:
                result.filled_since += 1
        elif placed.status in GAVE_UP:
            if self.orders.move(
                order,
                placed.status,
                reason=unplaced_reason(placed.status, placed.status_message),
                broker_order_id=placed.order_id,
            ):
                result.ended_unfilled += 1
                self._give_back_claim(order)
        elif placed.status in WORKING_ORDER_STATUSES and status in (
            OrderStatus.INTENT,
            OrderStatus.FAILED,
        ):
            # FAILED too: a send that timed out and found nothing may have reached the broker after all.
            self.orders.move(order, placed.status, broker_order_id=placed.order_id)

    def _give_back_claim(self, order: OrderRecord) -> None:
        if order.execution_type.closes:
            self.positions.release_closed_by(order)

    # -- more than one copy --------------------------------------------------------------------
    def _duplicate(
        self, order: OrderRecord, extra: BrokerOrder, broker: Broker, result: ReconciliationResult
    ) -> dict[str, Any] | None:
        result.duplicates_found += 1
        reason = None
        if extra.status in WORKING_ORDER_STATUSES:
            try:
                extra = broker.cancel_order(extra.order_id)
                result.duplicates_cancelled += 1
                reason = (
                    f"an extra copy of order {order.tag} at the broker: cancelled by the platform"
                )
            except Exception:
                # It filled or ended meanwhile: record what it is.
                extra = broker.order_status(extra.order_id)
        copy = order.model_copy(
            update={
                "key": self.orders.duplicate_key(order, extra.order_id),
                "duplicate_of": order.tag,
                "status": extra.status,
                "broker_order_id": extra.order_id,
                "fill_price": extra.average_price,
                "status_message": extra.status_message,
                "placed_at": extra.placed_at,
                "position_applied": None,
                # An extra copy that did not fill says why, as every unplaced order does.
                "reason": reason or unplaced_reason(extra.status, extra.status_message),
            }
        )
        if extra.status == OrderStatus.COMPLETE:
            # The account holds it: so must our position.
            new = self.positions.record_fill(copy) is not None
        else:
            new = self.orders.record_duplicate(copy)
        if not new:
            return None  # flagged by an earlier run: alert once
        detail = {
            "user_id": order.user_id,
            "strategy_id": order.strategy_id,
            "client_id": order.client_id,
            "leg_no": order.leg_no,
            "tag": order.tag,
            "execution_key": order.execution_key,
            "our_order_id": order.broker_order_id,
            "duplicate_order_id": extra.order_id,
            "duplicate_status": extra.status,
            "quantity": order.quantity,
            "detected_at": utc_iso(self.clock.now()),
        }
        return {
            "Source": self.alert["source"],
            "DetailType": self.alert["detail_type"],
            "Detail": json.dumps(detail),
            "Time": self.clock.now().astimezone(UTC),
        }


def _ours_first(order: OrderRecord, copies: list[BrokerOrder]) -> list[BrokerOrder]:
    """The broker's orders that carry our order's tag: ours is the copy our record names; failing
    that, the first placed."""
    return sorted(
        copies,
        key=lambda o: (o.order_id != order.broker_order_id, o.placed_at, o.order_id),
    )
