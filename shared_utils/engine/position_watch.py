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
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.domain.clock import IST, Clock, ist_date, utc_iso
from shared_utils.domain.errors import Conflict
from shared_utils.engine.executor import ExecutionRef, StrategyExecutor
from shared_utils.engine.positions import PositionBook, day_pnl, expired
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider, OptionChain

MAX_ATTEMPTS = 3
FINISHED_BADLY = ("FAILED", "PARTIAL")


@dataclass
class WatchResult:
    positions_watched: int = 0
    stop_losses: list[str] = field(default_factory=list)
    square_offs: list[str] = field(default_factory=list)
    daily_loss_exits: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    left_to_other_closes: int = 0
    executions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "executions": [
                {k: v for k, v in e.items() if k != "failures"} for e in self.executions
            ],
        }


def stop_level(position: dict[str, Any]) -> Decimal | None:
    if position.get("stop_loss") is None:
        return None
    average, stop = Decimal(str(position["average_price"])), Decimal(str(position["stop_loss"]))
    distance = average * stop / 100 if position.get("stop_loss_type") == "PERCENT" else stop
    return average + distance if int(position["quantity"]) < 0 else average - distance


def breached(position: dict[str, Any], last: Decimal) -> bool:
    level = stop_level(position)
    if level is None:
        return False
    return last >= level if int(position["quantity"]) < 0 else last <= level


def _closed_nothing(record: dict[str, Any]) -> bool:
    """A close that found its positions claimed by another close and sent nothing: if they are
    still open (the other close failed), this one must be made again."""
    results = record.get("execution_results") or {}
    return (
        record.get("status") == "COMPLETED"
        and not results.get("successful_orders")
        and bool(results.get("skipped"))
    )


class PositionWatch:
    def __init__(
        self,
        book: PositionBook,
        executor: StrategyExecutor,
        market: MarketDataProvider,
        calendar: TradingCalendar,
        clock: Clock,
    ):
        self.book, self.executor, self.market, self.calendar, self.clock = (
            book,
            executor,
            market,
            calendar,
            clock,
        )

    def run(self) -> WatchResult:
        result = WatchResult()
        now = self.clock.now()
        today = ist_date(now)
        if not self.calendar.is_open(now):
            return result
        square_off = self.calendar.square_off_at(today)
        live, marks, chains = [], {}, {}
        for position in self.book.open_everywhere():
            result.positions_watched += 1
            try:  # one position the market cannot price must not leave the others unwatched
                if expired(position, now):
                    if (
                        self.book.settle(
                            position,
                            self._intrinsic(position),
                            "expired: settled at intrinsic value",
                        )
                        is not None
                    ):
                        result.settled.append(position[keys.SK])
                    continue
                marks[(position[keys.PK], position[keys.SK])] = self._last(position, chains, now)
                live.append(position)
            except Exception as error:
                result.errors.append(
                    f"{position[keys.PK]} {position[keys.SK]}: {type(error).__name__}: {error}"
                )

        closes: dict[str, dict[str, Any]] = {}  # base execution key -> what to close and why
        for position in live:
            user_id, strategy_id = position[keys.PK], position["strategy_id"]
            last = marks[(user_id, position[keys.SK])]
            if position.get("closing_by"):
                result.left_to_other_closes += 1
            elif position.get("product") == "MIS" and square_off is not None and now >= square_off:
                key = f"EXECUTION_EXIT#{strategy_id}#{today:%Y%m%d}#SQUARE_OFF"
                closes.setdefault(
                    key,
                    self._close(
                        position,
                        "EXIT",
                        None,
                        f"intraday square-off at {square_off:%H:%M} IST",
                        result.square_offs,
                    ),
                )
            elif breached(position, last):
                # One stop per position held: the contract and when it was opened name it, so a
                # re-entry on the same leg the same day has a stop of its own.
                opened = hashlib.sha256(
                    f"{position['tradingsymbol']}|{position.get('opened_at')}".encode()
                ).hexdigest()[:8]
                key = f"EXECUTION_STOP_LOSS#{strategy_id}#{today:%Y%m%d}#{position['client_id']}#{int(position['leg_no']):02d}#{opened}"
                reason = (
                    f"stop loss: last {last} reached {stop_level(position).quantize(Decimal('0.05'))} "
                    f"({position['stop_loss']} {position.get('stop_loss_type', 'POINTS').lower()} from {Decimal(str(position['average_price'])).quantize(Decimal('0.01'))})"
                )
                closes.setdefault(
                    key,
                    self._close(
                        position,
                        "STOP_LOSS",
                        {"client_id": position["client_id"], "position_key": position[keys.SK]},
                        reason,
                        result.stop_losses,
                    ),
                )

        for (user_id, strategy_id, client_id), group in self._by_allocation(live).items():
            limit = group[0].get("max_daily_loss")
            if limit is None:
                continue
            # Realised today includes positions already closed: read the allocation's whole book.
            held = self.book.held(user_id, strategy_id, client_id)
            loss = -day_pnl(held, {p[keys.SK]: marks[(user_id, p[keys.SK])] for p in group}, today)
            if loss >= Decimal(str(limit)):
                key = f"EXECUTION_STOP_LOSS#{strategy_id}#{today:%Y%m%d}#{client_id}#DAILY_LOSS"
                closes.setdefault(
                    key,
                    self._close(
                        group[0],
                        "STOP_LOSS",
                        {"client_id": client_id},
                        f"max_daily_loss {limit}: lost {loss.quantize(Decimal('0.01'))} today",
                        result.daily_loss_exits,
                    ),
                )

        for base_key, close in closes.items():
            try:
                outcome = self._execute_once(base_key, close, now)
            except Exception as error:
                result.errors.append(f"{base_key}: {type(error).__name__}: {error}")
                continue
            if outcome is not None:
                close["counted_in"].append(base_key)
                result.executions.append(outcome)
        return result

    # -- deciding ------------------------------------------------------------------------------
    @staticmethod
    def _close(
        position: dict, execution_type: str, only: dict | None, reason: str, counted_in: list
    ) -> dict[str, Any]:
        return {
            "user_id": position[keys.PK],
            "strategy_id": position["strategy_id"],
            "execution_type": execution_type,
            "plan": {
                "underlying": position["underlying"],
                "order_type": "MARKET",
                "close": only,
                "legs": [],
            },
            "reason": reason,
            "counted_in": counted_in,
        }

    @staticmethod
    def _by_allocation(positions: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
        groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for position in positions:
            groups[(position[keys.PK], position["strategy_id"], position["client_id"])].append(
                position
            )
        return groups

    def _last(self, position: dict, chains: dict, now: datetime) -> Decimal:
        underlying, expiry = position["underlying"], date.fromisoformat(position["expiry"])
        strike, option_type = Decimal(str(position["strike"])), position["option_type"]
        if (underlying, expiry) not in chains:
            try:
                chains[(underlying, expiry)] = self.market.chain(underlying, expiry, now)
            except Exception:
                chains[(underlying, expiry)] = None  # price each position on its own instead
        chain: OptionChain | None = chains[(underlying, expiry)]
        try:
            if chain is not None:
                return chain.quote(strike, option_type).last
        except KeyError:  # a strike the chain no longer lists (far from the money now)
            pass
        return self.market.quote(underlying, expiry, strike, option_type, now).last

    def _intrinsic(self, position: dict) -> Decimal:
        expiry = date.fromisoformat(position["expiry"])
        session = self.calendar.session_on(expiry)
        close = session.close_at() if session else datetime.combine(expiry, time(15, 30), IST)
        spot, strike = (
            self.market.spot(position["underlying"], close),
            Decimal(str(position["strike"])),
        )
        return (
            max(spot - strike, Decimal(0))
            if position["option_type"] == "CALL"
            else max(strike - spot, Decimal(0))
        )

    # -- acting --------------------------------------------------------------------------------
    def _execute_once(self, base_key: str, close: dict, now: datetime) -> dict[str, Any] | None:
        """Create the close's execution record (a later attempt only if the earlier one failed) and run it."""
        today = ist_date(now)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            key = base_key if attempt == 1 else f"{base_key}#A{attempt}"
            record = {
                keys.PK: close["user_id"],
                keys.SK: key,
                "entity_type": "EXECUTION",
                "strategy_id": close["strategy_id"],
                "execution_type": close["execution_type"],
                "execution_date": today.isoformat(),
                "execution_time": now.astimezone(IST).strftime("%H:%M"),
                "status": "SCHEDULED",
                "scheduled_at": utc_iso(now),
                "workflow": "POSITION_WATCH",
                "reason": close["reason"],
                "plan": close["plan"],
                "attempt": attempt,
                "version": 1,
            }
            try:
                self.executor.repository.commit([db.put_new(record, Conflict("exists"))])
            except Conflict:
                existing = self.executor.repository.get(close["user_id"], key) or {}
                if existing.get("status") in FINISHED_BADLY or _closed_nothing(existing):
                    continue
                return None  # closing now, or closed already
            return self.executor.execute(
                ExecutionRef(
                    close["user_id"],
                    key,
                    close["strategy_id"],
                    close["execution_type"],
                    today.isoformat(),
                )
            )
        return None
