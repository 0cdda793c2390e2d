"""What a trader asks about executions: the schedule, the history, positions with P&L, the orders,
and a manual run (which never repeats a completed execution unless forced)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.enums import (
    ExecutionStatus,
    ExecutionType,
    ExecutionWorkflow,
    OrderStatus,
    ScheduleStatus,
    Side,
    weekday_of,
)
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.engine.executor import StrategyExecutor
from shared_utils.engine.ports import ExecutionStore, OrderStore, PositionLedger, Schedule
from shared_utils.engine.positions import expired, unrealised
from shared_utils.engine.records import ExecutionRecord, ExecutionReport, Found
from shared_utils.market.data import MarketDataProvider

TYPES = {"entry": ExecutionType.ENTRY, "exit": ExecutionType.EXIT}
FINISHED = (ExecutionStatus.COMPLETED, ExecutionStatus.PARTIAL, ExecutionStatus.FAILED)
HISTORY_FIELDS = (
    "strategy_id",
    "execution_type",
    "execution_date",
    "execution_time",
    "status",
    "scheduled_at",
    "started_at",
    "completed_at",
    "total_legs",
    "total_lots",
    "brokers_involved",
    "execution_results",
)
ORDER_FIELDS = (
    "strategy_id",
    "leg_no",
    "client_id",
    "lots",
    "lot_size",
    "quantity",
    "transaction_type",
    "option_type",
    "strike",
    "expiry",
    "tradingsymbol",
    "tag",
    "status",
    "broker_order_id",
    "fill_price",
    "execution_type",
    "placed_at",
    "order_type",
    "price",
    "reason",
)
REPORTED_ORDER_FIELDS = (
    "placed_at",
    "execution_type",
    "leg_no",
    "transaction_type",
    "option_type",
    "strike",
    "tradingsymbol",
    "lots",
    "quantity",
    "order_type",
    "price",
    "status",
    "fill_price",
    "reason",
)
NOT_ENDED = (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING, OrderStatus.INTENT)


class ExecutionQueries:
    def __init__(
        self,
        executions: ExecutionStore,
        orders: OrderStore,
        positions: PositionLedger,
        schedule: Schedule,
        clock: Clock,
        market: MarketDataProvider | None = None,
        executor: StrategyExecutor | None = None,
    ):
        self.executions, self.orders_store, self.positions_held = executions, orders, positions
        self.schedule_store, self.clock, self.market, self.executor = (
            schedule,
            clock,
            market,
            executor,
        )

    def schedule(self, user_id: str, on: date, execution_type: str | None) -> list[dict[str, Any]]:
        weekday = weekday_of(on)
        rows = []
        kinds = [TYPES[execution_type]] if execution_type else list(TYPES.values())
        for kind in kinds:
            for entry in self.schedule_store.of_user(user_id, kind):
                if entry.weekday != weekday:
                    continue
                record = self.executions.get(
                    user_id, self.executions.execution_key(kind, entry.strategy_id, on)
                )
                rows.append(
                    {
                        "strategy_id": entry.strategy_id,
                        "execution_type": kind,
                        "execution_date": on.isoformat(),
                        "execution_time": entry.execution_time,
                        "status": record.status if record else ScheduleStatus.PLANNED,
                    }
                )
        return sorted(
            rows, key=lambda r: (r["execution_time"], r["execution_type"], r["strategy_id"])
        )

    def history(
        self, user_id: str, strategy_id: str | None, from_date: date | None, to_date: date | None
    ) -> Found[dict[str, Any]]:
        """The executions that ran, newest first, and the stored ones that do not read (whatever
        their date, which cannot be read either): the trader sees the rest and which are missing."""
        if from_date and to_date and from_date > to_date:
            raise InvalidInput.at("from_date", "must not be after to_date")
        found = self.executions.history(user_id, strategy_id)
        rows = [
            _fields(record, HISTORY_FIELDS)
            for record in found.records
            if not (from_date and record.execution_date < from_date)
            and not (to_date and record.execution_date > to_date)
        ]
        return Found(
            sorted(rows, key=lambda r: (r["execution_date"], r["execution_time"]), reverse=True),
            found.unreadable,
        )

    def orders(
        self, user_id: str, strategy_id: str | None, on: date | None, client_id: str | None
    ) -> list[dict[str, Any]]:
        found = self.orders_store.orders(user_id, on, strategy_id, client_id)
        return sorted(
            (_fields(order, ORDER_FIELDS) for order in found),
            key=lambda o: (o["placed_at"], o["tag"]),
        )

    def positions(
        self, user_id: str, strategy_id: str | None, client_id: str | None
    ) -> list[dict[str, Any]]:
        """What each strategy holds per account and leg, valued at the market now: P&L is what was
        realised plus what the open quantity would realise at the last price."""
        rows = []
        now = self.clock.now()
        for position in self.positions_held.held(user_id, strategy_id, client_id).every():
            quantity = position.quantity
            last = None
            if quantity and self.market is not None and not expired(position, now):
                last = self.market.quote(
                    position.underlying,
                    position.expiry,
                    position.strike,
                    position.option_type,
                    now,
                ).last
            realised = position.realised_pnl
            open_pnl = (
                unrealised(position, last)
                if last is not None
                else (Decimal(0) if not quantity else None)
            )
            rows.append(
                {
                    "strategy_id": position.strategy_id,
                    "client_id": position.client_id,
                    "leg_no": position.leg_no,
                    "tradingsymbol": position.tradingsymbol,
                    "product": position.product,
                    "quantity": quantity,
                    "average_price": position.average_price.quantize(Decimal("0.01"))
                    if quantity
                    else None,
                    "last_price": last,
                    "realised_pnl": realised.quantize(Decimal("0.01")),
                    "unrealised_pnl": open_pnl.quantize(Decimal("0.01"))
                    if open_pnl is not None
                    else None,
                    "pnl": (realised + open_pnl).quantize(Decimal("0.01"))
                    if open_pnl is not None
                    else None,
                    "closing_by": position.closing_by,
                }
            )
        return sorted(
            rows, key=lambda r: (r["strategy_id"], r["client_id"], r["leg_no"], r["tradingsymbol"])
        )

    def daily_report(self, user_id: str, on: date) -> dict[str, Any]:
        """Per strategy and per broker account: the day's orders and fills, what is held, and P&L
        (realised plus open positions at the last price). Strategies that traded that day or hold
        positions are in it."""
        orders = self.orders(user_id, None, on, None)
        positions = self.positions(user_id, None, None)
        names = self.schedule_store.strategy_names(user_id)
        return daily_report(on, orders, positions, names, as_of=self.clock.now())

    def run_now(
        self, user_id: str, strategy_id: str, execution_type: str, force: bool
    ) -> ExecutionReport:
        kind = TYPES[execution_type]
        now = self.clock.now()
        today = ist_date(now)
        entry = next(
            (e for e in self.schedule_store.of_user(user_id, kind) if e.strategy_id == strategy_id),
            None,
        )
        if entry is None:
            if not self.schedule_store.has_strategy(user_id, strategy_id):
                raise NotFound(f"strategy {strategy_id} not found")
            raise Conflict(
                f"strategy {strategy_id} has nothing to {execution_type}: it needs legs, and an active allocation to enter"
            )
        key = self.executions.execution_key(kind, strategy_id, today)
        existing = self.executions.get(user_id, key)
        if existing and existing.status in FINISHED and not force:
            raise Conflict(
                f"today's {execution_type} of strategy {strategy_id} already ran ({existing.status}); send force: true to run it again"
            )
        if existing and existing.status is ExecutionStatus.IN_PROGRESS:
            raise Conflict(f"today's {execution_type} of strategy {strategy_id} is running")
        if existing and force:
            key = self.executions.again(
                key, f"M{utc_iso(now).replace(':', '').replace('-', '').replace('.', '')}"
            )
        record = ExecutionRecord(
            key=key,
            user_id=user_id,
            strategy_id=strategy_id,
            execution_date=today,
            execution_time=now.astimezone(IST).strftime("%H:%M"),
            execution_type=kind,
            total_legs=entry.total_legs,
            total_lots=entry.total_lots,
            brokers_involved=entry.brokers_involved,
            status=ExecutionStatus.SCHEDULED,
            scheduled_at=utc_iso(now),
            workflow=ExecutionWorkflow.MANUAL,
            plan=entry.plan,
            version=1,
            manual=True,
        )
        # Before the record: a run that cannot start must leave no SCHEDULED execution behind.
        if self.executor is None:
            raise RuntimeError("these queries were built without an executor to run with")
        if not self.executions.create(record):
            raise Conflict("another run of it was started meanwhile; retry")
        return self.executor.execute(record.ref)


def _fields(record: BaseModel, names: tuple[str, ...]) -> dict[str, Any]:
    """These fields of a record as a trader reads them: None where the record has none."""
    given = record.model_dump(mode="python", include=set(names))
    return {name: given.get(name) for name in names}


def daily_report(
    on: date,
    orders: list[dict[str, Any]],
    positions: list[dict[str, Any]],
    names: dict[str, str | None],
    *,
    as_of: datetime,
) -> dict[str, Any]:
    """The day's report from its orders and the positions (as `ExecutionQueries` lists them)."""
    strategies: dict[str, dict[str, Any]] = {}

    def account(strategy_id: str, client_id: str) -> dict[str, Any]:
        strategy = strategies.setdefault(
            strategy_id,
            {
                "strategy_id": strategy_id,
                "strategy_name": names.get(strategy_id),
                "accounts": {},
            },
        )
        accounts: dict[str, dict[str, Any]] = strategy["accounts"]
        return accounts.setdefault(
            client_id,
            {
                "client_id": client_id,
                "orders": 0,
                "filled": 0,
                "not_filled": 0,
                "premium": Decimal(0),
                "positions": [],
                "order_list": [],
                "realised_pnl": Decimal(0),
                "unrealised_pnl": Decimal(0),
                "pnl": Decimal(0),
            },
        )

    for order in orders:
        row = account(order["strategy_id"], order["client_id"])
        row["orders"] += 1
        row["order_list"].append({k: order.get(k) for k in REPORTED_ORDER_FIELDS})
        if order["status"] == OrderStatus.COMPLETE:
            row["filled"] += 1
            received = Decimal(str(order["fill_price"])) * int(order["quantity"])
            row["premium"] -= received * Side(order["transaction_type"]).sign
        elif order["status"] not in NOT_ENDED:
            row["not_filled"] += 1
    for position in positions:
        if not position["quantity"] and position["strategy_id"] not in strategies:
            continue  # closed before this day and not traded on it
        row = account(position["strategy_id"], position["client_id"])
        row["positions"].append(position)
        row["realised_pnl"] += position["realised_pnl"]
        row["unrealised_pnl"] += position["unrealised_pnl"] or Decimal(0)
        row["pnl"] += position["pnl"] if position["pnl"] is not None else position["realised_pnl"]
    report = []
    for strategy in sorted(
        strategies.values(), key=lambda s: (s["strategy_name"] or "", s["strategy_id"])
    ):
        accounts = sorted(strategy["accounts"].values(), key=lambda a: a["client_id"])
        report.append(
            {
                **strategy,
                "accounts": accounts,
                "orders": sum(a["orders"] for a in accounts),
                "pnl": sum((a["pnl"] for a in accounts), Decimal(0)),
            }
        )
    return {
        "date": on.isoformat(),
        "as_of": utc_iso(as_of),
        "strategies": report,
        "pnl": sum((s["pnl"] for s in report), Decimal(0)),
    }
