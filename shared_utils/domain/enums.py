"""Every status and kind the platform speaks of, in the trader's words.

They are `StrEnum`s: a member is its value wherever a string goes (a DynamoDB attribute, a JSON
body, a log line), so what is stored and what the API returns stay exactly the strings they were,
while code compares members and a misspelt status fails at import, not in production.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"


# The weekdays in calendar order: WEEKDAYS[day.weekday()] for a day from Monday to Friday.
WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)


def weekday_of(day: date) -> Weekday | None:
    """The day's weekday, or None on a Saturday or Sunday (which no schedule or expiry names)."""
    return WEEKDAYS[day.weekday()] if day.weekday() < len(WEEKDAYS) else None


class EntityStatus(StrEnum):
    """The status a trader sets on a basket, strategy or allocation."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


class BrokerName(StrEnum):
    ZERODHA = "ZERODHA"
    ANGELONE = "ANGELONE"
    UPSTOX = "UPSTOX"
    DHAN = "DHAN"
    FYERS = "FYERS"
    FINVASIA = "FINVASIA"
    ICICIDIRECT = "ICICIDIRECT"
    PAPER = "PAPER"


class AccountMode(StrEnum):
    """PAPER unless LIVE is asked for explicitly."""

    PAPER = "PAPER"
    LIVE = "LIVE"


class Product(StrEnum):
    NRML = "NRML"  # positional
    MIS = "MIS"  # intraday: squared off the same day


class StrategyCategory(StrEnum):
    CONSERVATIVE = "CONSERVATIVE"
    AGGRESSIVE = "AGGRESSIVE"
    HEDGED = "HEDGED"
    INCOME = "INCOME"
    MOMENTUM = "MOMENTUM"


class Side(StrEnum):
    """A leg's or an order's transaction type."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for units bought, -1 for units sold."""
        return 1 if self is Side.BUY else -1


class OptionType(StrEnum):
    CALL = "CALL"
    PUT = "PUT"


class StrikeMethod(StrEnum):
    """How a leg's strike is chosen at entry."""

    DELTA = "DELTA"
    STRIKE_DISTANCE = "STRIKE_DISTANCE"
    ATM_OFFSET = "ATM_OFFSET"
    PREMIUM = "PREMIUM"


class LegCategory(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    SPREAD = "SPREAD"


class StopLossType(StrEnum):
    POINTS = "POINTS"  # premium points from the entry price
    PERCENT = "PERCENT"  # percent of the entry premium


class ExpiryType(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"  # stop-loss limit: a LIMIT order once its trigger is touched
    SL_M = "SL-M"  # stop-loss market: a MARKET order once its trigger is touched


class AllocationType(StrEnum):
    LEG_LEVEL = "LEG_LEVEL"  # only the legs listed and enabled trade on the account
    STRATEGY_LEVEL = "STRATEGY_LEVEL"  # every enabled leg trades lots x multiplier


class ExecutionType(StrEnum):
    """Why an execution trades: the schedule's entry or exit, or a stop loss (which includes the
    intraday square-off and a daily-loss close)."""

    ENTRY = "ENTRY"
    EXIT = "EXIT"
    STOP_LOSS = "STOP_LOSS"

    @property
    def closes(self) -> bool:
        return self is not ExecutionType.ENTRY


class ExecutionStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"  # some orders placed, some failed or refused
    FAILED = "FAILED"
    # Its time passed without a run and it will not run (an entry past its grace, an exit after the
    # close): `reason` says why, when it was due and when that was found.
    MISSED = "MISSED"
    # A scheduled entry a trader's manual entry made earlier the same day: `reason` names that run.
    SKIPPED = "SKIPPED"
    # A result, never stored: another executor had claimed the execution already.
    ALREADY_CLAIMED = "ALREADY_CLAIMED"


class ExecutionWorkflow(StrEnum):
    """What set an execution going: a scheduled workflow (PENDING until started), a trader's manual
    run, or the position watch's close."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    MANUAL = "MANUAL"
    POSITION_WATCH = "POSITION_WATCH"


class ScheduleStatus(StrEnum):
    """A schedule row's status before the trigger has recorded its execution (from then on the row
    shows the execution's ExecutionStatus)."""

    PLANNED = "PLANNED"


class ExchangeClose(StrEnum):
    """A close the exchange makes without an order of ours: the execution key and the tag of the
    fill it nets into the position."""

    SETTLEMENT = "SETTLEMENT"  # an expired contract settled in cash at its intrinsic value


class OrderStatus(StrEnum):
    INTENT = "INTENT"  # recorded, not yet answered by the broker
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER_PENDING"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    LAPSED = "LAPSED"  # a DAY order still working when its session closed
    FAILED = "FAILED"  # never reached the broker, or the broker's answer was lost

    @property
    def working(self) -> bool:
        """At the broker and may still fill."""
        return self in (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING)

    @property
    def placed(self) -> bool:
        """Accepted by the broker (filled or still working)."""
        return self is OrderStatus.COMPLETE or self.working


WORKING_ORDER_STATUSES = frozenset({OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING})


class ExpiryRollover(StrEnum):
    """What an entry does when the leg's expiry can no longer be traded (it expires today before
    the entry could be worked): refuse with the reason, or take the next expiry of its type."""

    NONE = "NONE"
    NEXT = "NEXT"
