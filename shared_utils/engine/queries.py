"""What a trader asks about executions: the schedule, the history, positions with P&L, the orders,
and a manual run (which never repeats a completed execution unless forced)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from shared_utils.configuration.schedule import ScheduleEntry
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
from shared_utils.engine.ports import (
    ExecutionStore,
    HeldRun,
    OrderStore,
    PositionLedger,
    Schedule,
)
from shared_utils.engine.positions import expired, unrealised
from shared_utils.engine.records import ExecutionRecord, ExecutionReport, Found
from shared_utils.market.data import MarketDataProvider

TYPES = {"entry": ExecutionType.ENTRY, "exit": ExecutionType.EXIT}
_VERBS = {ExecutionType.ENTRY: "enter", ExecutionType.EXIT: "exit"}
FINISHED = (ExecutionStatus.COMPLETED, ExecutionStatus.PARTIAL, ExecutionStatus.FAILED)
PLACED = (ExecutionStatus.COMPLETED, ExecutionStatus.PARTIAL)  # an entry that placed orders
# As long as a Lambda function can run (15 minutes): a lease never runs out under a live run.
MANUAL_LEASE = timedelta(minutes=15)
# Requests that reach the platform one after another can still be one click sent twice (the local
# front serves them in turn, a client retries on a slow answer): a forced run that placed orders
# keeps its claim this long, and the same run asked for meanwhile is refused, not traded again.
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=60)
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
    "manual",
    "reason",
    "due_at",
    "found_at",
    "late_minutes",
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
                        # Why it is MISSED, SKIPPED or ran late, where it is any of those.
                        **({"reason": record.reason} if record and record.reason else {}),
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
        self,
        user_id: str,
        strategy_id: str,
        execution_type: str,
        force: bool,
        idempotency_key: str | None = None,
    ) -> ExecutionReport:
        """Run today's entry or exit of a strategy now, once.

        One run at a time: a conditional claim per user, strategy and kind, leased for
        MANUAL_LEASE (a crashed run cannot block the strategy for ever), and kept for
        DOUBLE_SUBMIT_WINDOW after a run that placed orders, so racing requests served in turn
        trade once (a new Idempotency-Key is a new run). A claim, not Powertools Idempotency: what
        to keep apart is any two runs of one entry at once, not one request retried; clients send
        no key, and it needs no second table.

        A manual run has its own record (the day's key, qualified), so the day's scheduled record
        keeps its own outcome. A manual entry skips the day's scheduled entry while it runs (the two
        never trade at once) and for good once it has placed orders; one that placed nothing gives
        the scheduled entry back. A manual exit never touches the scheduled exit: closing what is
        held again is harmless, and the position claims keep two closes from doubling an order.

        With the client's `idempotency_key`, the same request sent again gets the first run's
        answer for a day; the key sent with another request is a 409.
        """
        kind = TYPES[execution_type]
        now = self.clock.now()
        request = f"{kind} {strategy_id} force={str(force).lower()}"
        kept = self.executions.answer_for(user_id, idempotency_key) if idempotency_key else None
        if kept is not None:
            if kept[0] != request:
                raise Conflict(
                    f"Idempotency-Key {idempotency_key} was sent with another request ({kept[0]}); "
                    "send a new key"
                )
            return kept[1]
        entries = [
            e for e in self.schedule_store.of_user(user_id, kind) if e.strategy_id == strategy_id
        ]
        if not entries:
            if not self.schedule_store.has_strategy(user_id, strategy_id):
                raise NotFound(f"strategy {strategy_id} not found")
            raise Conflict(
                f"strategy {strategy_id} has nothing to {_VERBS[kind]}: it needs legs, and an active allocation to enter"
            )
        # Before anything is written: a run that cannot start must leave nothing behind.
        if self.executor is None:
            raise RuntimeError("these queries were built without an executor to run with")
        today = ist_date(now)
        scheduled_key = self.executions.execution_key(kind, strategy_id, today)
        key = self.executions.again(
            scheduled_key, f"M{utc_iso(now).replace(':', '').replace('-', '').replace('.', '')}"
        )
        # A key the platform has not answered yet is the client saying "a new run, not a resend".
        fresh_key = idempotency_key is not None
        held = self.executions.claim_run(
            user_id, kind, strategy_id, key, now, now + MANUAL_LEASE, past_a_finished_run=fresh_key
        )
        if held is not None:
            raise Conflict(_held_message(execution_type, strategy_id, held, force))
        report: ExecutionReport | None = None
        try:
            report = self._run_claimed(user_id, entries, kind, key, scheduled_key, force, now)
            if idempotency_key:
                self.executions.keep_answer(user_id, idempotency_key, request, report, now)
            return report
        finally:
            # One that placed nothing keeps nothing: a retry at once is what the trader wants.
            placed, finished = report is not None and report.status in PLACED, self.clock.now()
            self.executions.release_run(
                user_id,
                kind,
                strategy_id,
                key,
                finished_at=finished,
                keep_until=finished + DOUBLE_SUBMIT_WINDOW if placed else None,
            )

    def _run_claimed(
        self,
        user_id: str,
        entries: list[ScheduleEntry],
        kind: ExecutionType,
        key: str,
        scheduled_key: str,
        force: bool,
        now: datetime,
    ) -> ExecutionReport:
        entry, today = entries[0], ist_date(now)
        named = f"today's {kind.lower()} of strategy {entry.strategy_id}"
        runs = self.executions.runs_on(user_id, kind, entry.strategy_id, today).records
        running = [r for r in runs if r.status is ExecutionStatus.IN_PROGRESS]
        if running:
            raise Conflict(f"{named} is running ({running[0].key})")
        done = [r for r in runs if r.status in FINISHED]
        if done and not force:
            raise Conflict(
                f"{named} already ran ({done[-1].status}); send force: true to run it again"
            )
        held = None
        if kind is ExecutionType.ENTRY:
            todays = [e for e in entries if e.weekday == weekday_of(today)]
            if todays:
                held = self._hold_scheduled(todays[0], scheduled_key, key, now, runs)
        record = ExecutionRecord.of_entry(
            entry,
            key=key,
            day=today,
            hhmm=now.astimezone(IST).strftime("%H:%M"),
            status=ExecutionStatus.SCHEDULED,
            workflow=ExecutionWorkflow.MANUAL,
            scheduled_at=utc_iso(now),
            manual=True,
        )
        placed = False
        try:
            if not self.executions.create(record):
                raise Conflict("another run of it was started meanwhile; retry")
            if self.executor is None:  # checked before the claim; here for the type checker
                raise RuntimeError("these queries were built without an executor to run with")
            report = self.executor.execute(record.ref)
            placed = (
                report.status in PLACED
                and report.results is not None
                and report.results.successful_orders > 0
            )
            return report
        finally:
            # Nothing placed (it failed, placed no order, or never started): the day's scheduled
            # entry is given back, also when this run raised.
            if held is not None and not placed:
                self.executions.unskip(*held)

    def _hold_scheduled(
        self,
        entry: ScheduleEntry,
        scheduled_key: str,
        key: str,
        now: datetime,
        runs: list[ExecutionRecord],
    ) -> tuple[ExecutionRecord, str] | None:
        """Skip today's scheduled entry for the manual one: (its record, the reason) to give it
        back with, or None when it is no longer waiting (it ran, was missed or skipped already)."""
        reason = (
            f"skipped: the manual entry {key} ran first at {now.astimezone(IST):%H:%M} IST "
            "(it is given back if that run places no order)"
        )
        scheduled = next((r for r in runs if r.key == scheduled_key), None)
        if scheduled is None:
            waiting = ExecutionRecord.of_entry(
                entry,
                key=scheduled_key,
                day=ist_date(now),
                hhmm=entry.execution_time,
                status=ExecutionStatus.SKIPPED,
                workflow=ExecutionWorkflow.PENDING,
                scheduled_at=utc_iso(now),
                reason=reason,
            )
            if self.executions.create(waiting):
                return waiting, reason
            scheduled = self.executions.get(entry.user_id, scheduled_key)
        if scheduled is None or scheduled.status is not ExecutionStatus.SCHEDULED:
            return None
        if not self.executions.skip(scheduled, reason):
            raise Conflict(f"today's scheduled entry ({scheduled_key}) has just started")
        return scheduled, reason


def _held_message(execution_type: str, strategy_id: str, held: HeldRun, force: bool) -> str:
    named = f"a manual {execution_type} of strategy {strategy_id}"
    if held.finished_at is None or held.until is None:
        # A run that died (a crash, a platform stopped mid-run) holds its claim to the lease's end.
        lapses = (
            f" (if it stopped without finishing, its claim lapses at "
            f"{held.until.astimezone(IST):%H:%M:%S} IST)"
            if held.until is not None
            else ""
        )
        return (
            f"{named} is running ({held.holder}); "
            f"wait for it to finish{lapses}, then see options/executions/history"
        )
    if not force:
        return (
            f"today's {execution_type} of strategy {strategy_id} already ran and placed orders "
            f"({held.holder}); send force: true to run it again"
        )
    return (
        f"{named} placed orders at {held.finished_at.astimezone(IST):%H:%M:%S} IST ({held.holder}); "
        f"the same run asked for within {DOUBLE_SUBMIT_WINDOW.seconds} s of it is taken for a "
        f"double submit and refused: send it again after {held.until.astimezone(IST):%H:%M:%S} IST "
        "if you mean to trade it again"
    )


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
