"""What a trader asks about executions: the schedule, the history, positions with P&L, the orders,
and a manual run (which never repeats a completed execution unless forced)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.domain.models import WEEKDAYS
from shared_utils.engine.executor import ExecutionRef, StrategyExecutor
from shared_utils.engine.positions import PositionBook, expired, unrealised
from shared_utils.engine.trigger import execution_key
from shared_utils.market.data import MarketDataProvider

TYPES = {"entry": "ENTRY", "exit": "EXIT"}
FINISHED = ("COMPLETED", "PARTIAL", "FAILED")


class ExecutionQueries:
    def __init__(
        self,
        repository: ConfigurationRepository,
        clock: Clock,
        market: MarketDataProvider | None = None,
        executor: StrategyExecutor | None = None,
    ):
        self.repository, self.clock, self.market, self.executor = (
            repository,
            clock,
            market,
            executor,
        )

    def schedule(self, user_id: str, on: date, execution_type: str | None) -> list[dict[str, Any]]:
        weekday = WEEKDAYS[on.weekday()] if on.weekday() < 5 else None
        rows = []
        for kind in [TYPES[execution_type]] if execution_type else ["ENTRY", "EXIT"]:
            items, _ = self.repository.query_prefix(user_id, keys.schedule_prefix(kind))
            for item in items:
                if item["weekday"] != weekday:
                    continue
                record = self.repository.get(user_id, execution_key(kind, item["strategy_id"], on))
                rows.append(
                    {
                        "strategy_id": item["strategy_id"],
                        "execution_type": kind,
                        "execution_date": on.isoformat(),
                        "execution_time": item["execution_time"],
                        "status": record["status"] if record else "PLANNED",
                    }
                )
        return sorted(
            rows, key=lambda r: (r["execution_time"], r["execution_type"], r["strategy_id"])
        )

    def history(
        self, user_id: str, strategy_id: str | None, from_date: date | None, to_date: date | None
    ) -> list[dict[str, Any]]:
        if from_date and to_date and from_date > to_date:
            raise InvalidInput.at("from_date", "must not be after to_date")
        rows = []
        for kind in ("ENTRY", "EXIT", "STOP_LOSS"):
            prefix = f"EXECUTION_{kind}#{strategy_id}#" if strategy_id else f"EXECUTION_{kind}#"
            items, _ = self.repository.query_prefix(user_id, prefix)
            for item in items:
                day = date.fromisoformat(item["execution_date"])
                if (from_date and day < from_date) or (to_date and day > to_date):
                    continue
                rows.append(
                    {
                        k: item.get(k)
                        for k in (
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
                    }
                )
        return sorted(rows, key=lambda r: (r["execution_date"], r["execution_time"]), reverse=True)

    def orders(
        self, user_id: str, strategy_id: str | None, on: date | None, client_id: str | None
    ) -> list[dict[str, Any]]:
        prefix = f"ORDER#{on:%Y%m%d}#" if on else "ORDER#"
        filters = {k: v for k, v in (("strategy_id", strategy_id), ("client_id", client_id)) if v}
        items, _ = self.repository.query_prefix(user_id, prefix, filters=filters or None)
        fields = (
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
        return sorted(
            ({k: item.get(k) for k in fields} for item in items),
            key=lambda o: (o["placed_at"], o["tag"]),
        )

    def positions(
        self, user_id: str, strategy_id: str | None, client_id: str | None
    ) -> list[dict[str, Any]]:
        """What each strategy holds per account and leg, valued at the market now: P&L is what was
        realised plus what the open quantity would realise at the last price."""
        rows = []
        now = self.clock.now()
        for position in PositionBook(self.repository, self.clock).held(
            user_id, strategy_id, client_id
        ):
            quantity = int(position["quantity"])
            last = None
            if quantity and self.market is not None and not expired(position, now):
                last = self.market.quote(
                    position["underlying"],
                    date.fromisoformat(position["expiry"]),
                    Decimal(str(position["strike"])),
                    position["option_type"],
                    now,
                ).last
            realised = Decimal(str(position.get("realised_pnl", 0)))
            open_pnl = (
                unrealised(position, last)
                if last is not None
                else (Decimal(0) if not quantity else None)
            )
            rows.append(
                {
                    "strategy_id": position["strategy_id"],
                    "client_id": position["client_id"],
                    "leg_no": int(position["leg_no"]),
                    "tradingsymbol": position["tradingsymbol"],
                    "product": position.get("product"),
                    "quantity": quantity,
                    "average_price": Decimal(str(position["average_price"])).quantize(
                        Decimal("0.01")
                    )
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
                    "closing_by": position.get("closing_by"),
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
        names = {
            item["strategy_id"]: item.get("strategy_name")
            for item in self.repository.query_prefix(user_id, keys.strategy(""))[0]
        }
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
            return strategy["accounts"].setdefault(
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
            row["order_list"].append(
                {
                    k: order.get(k)
                    for k in (
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
                }
            )
            if order["status"] == "COMPLETE":
                row["filled"] += 1
                sign = 1 if order["transaction_type"] == "SELL" else -1
                row["premium"] += Decimal(str(order["fill_price"])) * int(order["quantity"]) * sign
            elif order["status"] not in ("OPEN", "TRIGGER_PENDING", "INTENT"):
                row["not_filled"] += 1
        for position in positions:
            if not position["quantity"] and position["strategy_id"] not in strategies:
                continue  # closed before this day and not traded on it
            row = account(position["strategy_id"], position["client_id"])
            row["positions"].append(position)
            row["realised_pnl"] += position["realised_pnl"]
            row["unrealised_pnl"] += position["unrealised_pnl"] or Decimal(0)
            row["pnl"] += (
                position["pnl"] if position["pnl"] is not None else position["realised_pnl"]
            )
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
            "as_of": utc_iso(self.clock.now()),
            "strategies": report,
            "pnl": sum((s["pnl"] for s in report), Decimal(0)),
        }

    def run_now(
        self, user_id: str, strategy_id: str, execution_type: str, force: bool
    ) -> dict[str, Any]:
        kind = TYPES[execution_type]
        today = ist_date(self.clock.now())
        plans, _ = self.repository.query_prefix(user_id, keys.schedule_prefix(kind))
        plan_item = next((p for p in plans if p["strategy_id"] == strategy_id), None)
        if plan_item is None:
            if self.repository.get(user_id, keys.strategy(strategy_id)) is None:
                raise NotFound(f"strategy {strategy_id} not found")
            raise Conflict(
                f"strategy {strategy_id} has nothing to {execution_type}: it needs legs, and an active allocation to enter"
            )
        key = execution_key(kind, strategy_id, today)
        existing = self.repository.get(user_id, key)
        if existing and existing["status"] in FINISHED and not force:
            raise Conflict(
                f"today's {execution_type} of strategy {strategy_id} already ran ({existing['status']}); send force: true to run it again"
            )
        if existing and existing["status"] == "IN_PROGRESS":
            raise Conflict(f"today's {execution_type} of strategy {strategy_id} is running")
        if existing and force:
            key = f"{key}#M{utc_iso(self.clock.now()).replace(':', '').replace('-', '').replace('.', '')}"
        record = {
            keys.PK: user_id,
            keys.SK: key,
            "entity_type": "EXECUTION",
            "strategy_id": strategy_id,
            "execution_date": today.isoformat(),
            "execution_time": self.clock.now().astimezone(IST).strftime("%H:%M"),
            "execution_type": kind,
            "total_legs": plan_item["total_legs"],
            "total_lots": plan_item["total_lots"],
            "brokers_involved": plan_item["brokers_involved"],
            "status": "SCHEDULED",
            "scheduled_at": utc_iso(self.clock.now()),
            "workflow": "MANUAL",
            "plan": plan_item["plan"],
            "version": 1,
            "manual": True,
        }
        self.repository.commit(
            [db.put_new(record, Conflict("another run of it was started meanwhile; retry"))]
        )
        return self.executor.execute(
            ExecutionRef(user_id, key, strategy_id, kind, today.isoformat())
        )
