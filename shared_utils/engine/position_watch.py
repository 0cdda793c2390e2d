"""The Check Stop Loss handler's work, every minute of the session: look at every open position of
every user (SCHEDULE_SHARDS queries, however many users) and close, on the account that holds it,
each one that must go:

- its leg's stop loss is breached: in premium points from the entry price by default, in percent of
  it where the leg says so (a short stops when the premium rises to the level, a long when it falls);
- it is intraday (MIS) and the session's square-off time has come: the whole strategy is closed;
- its allocation's max_daily_loss is reached: everything the strategy holds on that account goes.

Each close is an execution with a deterministic key, created by a conditional write, so a breach
closes its position once however many watches see it; a close that failed, or that found the
position claimed by another close which then failed, is tried again the next minute under a new
attempt number, at most MAX_ATTEMPTS times. One position or close that fails never stops the watch
over the others: it is reported in the result. A position another execution is
closing is left to it. A contract past its expiry is settled at its intrinsic value, as the exchange
settles index options in cash.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from shared_utils.configuration.schedule import ExecutionPlan, PlanClose
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.enums import (
    ExecutionStatus,
    ExecutionType,
    ExecutionWorkflow,
    OptionType,
    OrderType,
    Product,
    StopLossType,
)
from shared_utils.engine.executor import StrategyExecutor
from shared_utils.engine.ports import ExecutionStore
from shared_utils.engine.positions import PositionStore, day_pnl, expired, settlement
from shared_utils.engine.records import (
    ExecutionRecord,
    ExecutionReport,
    Position,
)
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider, OptionChain

MAX_ATTEMPTS = 3
FINISHED_BADLY = (ExecutionStatus.FAILED, ExecutionStatus.PARTIAL)


@dataclass
class WatchResult:
    positions_watched: int = 0
    stop_losses: list[str] = field(default_factory=list)
    square_offs: list[str] = field(default_factory=list)
    daily_loss_exits: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    left_to_other_closes: int = 0
    executions: list[ExecutionReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self, report: Callable[[ExecutionReport], dict[str, Any]]) -> dict[str, Any]:
        """The result as the handler reports it, each close as `report` renders an execution's
        answer, without its failures."""
        return {
            **self.__dict__,
            "executions": [
                {k: v for k, v in report(e).items() if k != "failures"} for e in self.executions
            ],
        }


@dataclass
class Close:
    """A close the watch decided on: what to close, why, and which list of the result counts it."""

    user_id: str
    strategy_id: str
    execution_type: ExecutionType
    plan: ExecutionPlan
    reason: str
    counted_in: list[str]


def stop_level(position: Position) -> Decimal | None:
    if position.stop_loss is None:
        return None
    average, stop = position.average_price, position.stop_loss
    distance = average * stop / 100 if position.stop_loss_type == StopLossType.PERCENT else stop
    return average + distance if position.quantity < 0 else average - distance


def breached(position: Position, last: Decimal) -> bool:
    level = stop_level(position)
    if level is None:
        return False
    return last >= level if position.quantity < 0 else last <= level


def _closed_nothing(record: ExecutionRecord) -> bool:
    """A close that found its positions claimed by another close and sent nothing: if they are
    still open (the other close failed), this one must be made again."""
    results = record.execution_results
    return (
        record.status == ExecutionStatus.COMPLETED
        and results is not None
        and not results.successful_orders
        and bool(results.skipped)
    )


def _key(position: Position) -> str:
    if position.key is None:
        raise ValueError(f"position {position.tradingsymbol} was not read from the store")
    return position.key


class PositionWatch:
    def __init__(
        self,
        positions: PositionStore,
        executions: ExecutionStore,
        executor: StrategyExecutor,
        market: MarketDataProvider,
        calendar: TradingCalendar,
        clock: Clock,
    ):
        self.positions, self.executions, self.executor = positions, executions, executor
        self.market, self.calendar, self.clock = market, calendar, clock

    def run(self) -> WatchResult:
        result = WatchResult()
        now = self.clock.now()
        today = ist_date(now)
        if not self.calendar.is_open(now):
            return result
        live, marks = self._marked(now, result)
        closes = self._closes(live, marks, now, today, result)
        for base_key, close in closes.items():
            try:
                outcome = self._execute_once(base_key, close, now)
            except Exception as error:
                result.errors.append(f"{base_key}: {type(error).__name__}: {error}")
                continue
            if outcome is not None:
                close.counted_in.append(base_key)
                result.executions.append(outcome)
        return result

    # -- watching ------------------------------------------------------------------------------
    def _marked(
        self, now: datetime, result: WatchResult
    ) -> tuple[list[Position], dict[tuple[str, str], Decimal]]:
        """The open positions still trading, each with its last price; an expired one is settled."""
        live: list[Position] = []
        marks: dict[tuple[str, str], Decimal] = {}
        chains: dict[tuple[str, date], OptionChain | None] = {}
        found = self.positions.open_everywhere()
        # A position whose item does not read is watched and reported, as one the market cannot
        # price is: the others are still watched.
        result.positions_watched += len(found.unreadable)
        result.errors += [str(unreadable) for unreadable in found.unreadable]
        for position in found.records:
            result.positions_watched += 1
            try:  # one position the market cannot price must not leave the others unwatched
                if expired(position, now):
                    settled = settlement(
                        position,
                        self._intrinsic(position),
                        "expired: settled at intrinsic value",
                        self.clock.now(),
                    )
                    if self.positions.record_fill(settled) is not None:
                        result.settled.append(_key(position))
                    continue
                marks[(position.user_id, _key(position))] = self._last(position, chains, now)
                live.append(position)
            except Exception as error:
                result.errors.append(
                    f"{position.user_id} {position.key}: {type(error).__name__}: {error}"
                )
        return live, marks

    def _closes(
        self,
        live: list[Position],
        marks: dict[tuple[str, str], Decimal],
        now: datetime,
        today: date,
        result: WatchResult,
    ) -> dict[str, Close]:
        """What must be closed, by the base key of the close's execution."""
        square_off = self.calendar.square_off_at(today)
        closes: dict[str, Close] = {}
        for position in live:
            strategy_id = position.strategy_id
            last = marks[(position.user_id, _key(position))]
            if position.closing_by:
                result.left_to_other_closes += 1
            elif position.product == Product.MIS and square_off is not None and now >= square_off:
                key = self.executions.execution_key(
                    ExecutionType.EXIT, strategy_id, today, "SQUARE_OFF"
                )
                closes.setdefault(
                    key,
                    _close(
                        position,
                        ExecutionType.EXIT,
                        None,
                        f"intraday square-off at {square_off:%H:%M} IST",
                        result.square_offs,
                    ),
                )
            elif breached(position, last):
                # One stop per position held: the contract and when it was opened name it, so a
                # re-entry on the same leg the same day has a stop of its own.
                opened = hashlib.sha256(
                    f"{position.tradingsymbol}|{position.opened_at}".encode()
                ).hexdigest()[:8]
                key = self.executions.execution_key(
                    ExecutionType.STOP_LOSS,
                    strategy_id,
                    today,
                    position.client_id,
                    f"{position.leg_no:02d}",
                    opened,
                )
                closes.setdefault(
                    key,
                    _close(
                        position,
                        ExecutionType.STOP_LOSS,
                        PlanClose(client_id=position.client_id, position_key=_key(position)),
                        _stop_reason(position, last),
                        result.stop_losses,
                    ),
                )

        for (user_id, strategy_id, client_id), group in _by_allocation(live).items():
            limit = group[0].max_daily_loss
            if limit is None:
                continue
            # Realised today includes positions already closed: read the allocation's whole book.
            found = self.positions.held(user_id, strategy_id, client_id)
            if found.unreadable:  # the day's loss is not known: say so, watch the other accounts
                result.errors += [f"daily loss of {client_id}: {u}" for u in found.unreadable]
                continue
            held = found.records
            loss = -day_pnl(held, {_key(p): marks[(user_id, _key(p))] for p in group}, today)
            if loss >= limit:
                key = self.executions.execution_key(
                    ExecutionType.STOP_LOSS, strategy_id, today, client_id, "DAILY_LOSS"
                )
                closes.setdefault(
                    key,
                    _close(
                        group[0],
                        ExecutionType.STOP_LOSS,
                        PlanClose(client_id=client_id),
                        f"max_daily_loss {limit}: lost {loss.quantize(Decimal('0.01'))} today",
                        result.daily_loss_exits,
                    ),
                )
        return closes

    def _last(
        self, position: Position, chains: dict[tuple[str, date], OptionChain | None], now: datetime
    ) -> Decimal:
        underlying, expiry = position.underlying, position.expiry
        if (underlying, expiry) not in chains:
            try:
                chains[(underlying, expiry)] = self.market.chain(underlying, expiry, now)
            except Exception:
                chains[(underlying, expiry)] = None  # price each position on its own instead
        chain = chains[(underlying, expiry)]
        if chain is not None:
            try:
                return chain.quote(position.strike, position.option_type).last
            except KeyError:  # a strike the chain no longer lists (far from the money now)
                pass
        return self.market.quote(
            underlying, expiry, position.strike, position.option_type, now
        ).last

    def _intrinsic(self, position: Position) -> Decimal:
        expiry = position.expiry
        session = self.calendar.session_on(expiry)
        close = session.close_at() if session else datetime.combine(expiry, time(15, 30), IST)
        spot, strike = self.market.spot(position.underlying, close), position.strike
        return (
            max(spot - strike, Decimal(0))
            if position.option_type == OptionType.CALL
            else max(strike - spot, Decimal(0))
        )

    # -- acting --------------------------------------------------------------------------------
    def _execute_once(self, base_key: str, close: Close, now: datetime) -> ExecutionReport | None:
        """Create the close's execution record (a later attempt only if the earlier one failed) and run it."""
        today = ist_date(now)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            key = base_key if attempt == 1 else self.executions.again(base_key, f"A{attempt}")
            record = ExecutionRecord(
                key=key,
                user_id=close.user_id,
                strategy_id=close.strategy_id,
                execution_type=close.execution_type,
                execution_date=today,
                execution_time=now.astimezone(IST).strftime("%H:%M"),
                status=ExecutionStatus.SCHEDULED,
                scheduled_at=utc_iso(now),
                workflow=ExecutionWorkflow.POSITION_WATCH,
                reason=close.reason,
                plan=close.plan,
                attempt=attempt,
                version=1,
            )
            if not self.executions.create(record):
                existing = self.executions.get(close.user_id, key)
                if existing is not None and (
                    existing.status in FINISHED_BADLY or _closed_nothing(existing)
                ):
                    continue
                return None  # closing now, or closed already
            return self.executor.execute(record.ref)
        return None


def _close(
    position: Position,
    execution_type: ExecutionType,
    only: PlanClose | None,
    reason: str,
    counted_in: list[str],
) -> Close:
    return Close(
        user_id=position.user_id,
        strategy_id=position.strategy_id,
        execution_type=execution_type,
        plan=ExecutionPlan(
            underlying=position.underlying, order_type=OrderType.MARKET, close=only, legs=[]
        ),
        reason=reason,
        counted_in=counted_in,
    )


def _stop_reason(position: Position, last: Decimal) -> str:
    level = stop_level(position)
    if level is None:
        raise ValueError(f"position {position.key} has no stop loss")
    kind = (position.stop_loss_type or StopLossType.POINTS).lower()
    return (
        f"stop loss: last {last} reached {level.quantize(Decimal('0.05'))} "
        f"({position.stop_loss} {kind} from {position.average_price.quantize(Decimal('0.01'))})"
    )


def _by_allocation(positions: list[Position]) -> dict[tuple[str, str, str], list[Position]]:
    groups: dict[tuple[str, str, str], list[Position]] = defaultdict(list)
    for position in positions:
        groups[(position.user_id, position.strategy_id, position.client_id)].append(position)
    return groups
