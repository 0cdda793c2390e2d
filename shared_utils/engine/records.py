"""What the execution plane passes around and stores, as typed records.

Field names are the stored attribute names, so the storage adapter maps a record to its item 1:1
and what is stored keeps exactly its shape. Two rules make that hold:

- A field that every item of its kind carries is required. A field that only some items carry
  has a default and is serialized only when it was given (`Record`, the base of every record
  here): a record read from the table writes back exactly the attributes it was read with, and
  one the engine builds holds exactly what it was given. Domain values inside a record (an
  allocation's risk limits, a plan's leg) serialize whole, defaults included, as they always were
  stored. The table never holds a null attribute at the top of an item (the repository leaves
  None out), so a field that may be None there (a MARKET order's `price`) has the default None;
  inside a map (a plan, the results) a null is stored as one, and a field that may hold it is
  required but nullable.
- Where the table key is also an identity the engine passes on (a position claimed by a close,
  the position a stop loss names, an order to reconcile), the record carries it as `key`: an
  opaque string the adapter fills from the item and the engine never builds or takes apart. The
  key attribute itself, index attributes and `entity_type` are the adapter's and never appear
  here. `user_id` is an ordinary field (it is also the partition key's attribute name).

Statuses, sides, order types, modes and kinds are the `StrEnum`s of `domain.enums`: a member is its
string wherever it is stored or sent. The execution plans (and the schedule entries that carry them)
are compiled by the configuration plane, so they live in `configuration/schedule.py`, and are
imported from there.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import ConfigDict, PlainSerializer
from pydantic.dataclasses import dataclass

from shared_utils.configuration.schedule import ExecutionPlan, Record, ScheduleEntry
from shared_utils.domain.enums import (
    AccountMode,
    BrokerName,
    ExecutionStatus,
    ExecutionType,
    ExecutionWorkflow,
    ExpiryType,
    OptionType,
    OrderStatus,
    OrderType,
    Product,
    Side,
    StopLossType,
)

__all__ = [
    "ExecutionRecord",
    "ExecutionRef",
    "ExecutionReport",
    "ExecutionResults",
    "Fill",
    "Found",
    "IsoDate",
    "OrderOutcome",
    "OrderRecord",
    "PlanningFailure",
    "Position",
    "Settlement",
    "SkippedClose",
    "Unreadable",
    "UnreadableRecords",
    "unplaced_reason",
]

# Dates are stored as ISO strings (YYYY-MM-DD); in the engine they are dates.
IsoDate = Annotated[date, PlainSerializer(date.isoformat, return_type=str)]


# --------------------------------------------------------------------------------------------
# Executions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExecutionRef:
    """Which execution to run: what a workflow hands the executor. Its JSON form (where `key` has
    the table's attribute name) is the adapter's."""

    user_id: str
    key: str  # the execution record's key, opaque to the engine
    strategy_id: str
    execution_type: ExecutionType
    execution_date: str  # YYYY-MM-DD, the IST trading day


class OrderOutcome(Record):
    """What became of one planned order, as an execution reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    client_id: str
    leg_no: int
    tradingsymbol: str
    tag: str
    status: OrderStatus
    quantity: int
    transaction_type: Side
    fill_price: Decimal | None
    broker_order_id: str | None
    reason: str | None


class PlanningFailure(Record):
    """A failure before any order existed (the orders could not be planned, or the run stopped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reason: str


class SkippedClose(Record):
    """A position an exit did not close, and why (settled by the exchange, or another close holds it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    client_id: str
    leg_no: int
    reason: str


class ExecutionResults(Record):
    successful_orders: int
    failed_orders: int
    total_premium: Decimal  # premium received minus premium paid, over the fills
    execution_time_ms: int
    failures: list[OrderOutcome | PlanningFailure]
    skipped: list[SkippedClose]


class ExecutionRecord(Record):
    """The spec's execution record (EXECUTION_ENTRY#strategy#YYYYMMDD and its kin): one execution of
    one strategy, SCHEDULED -> IN_PROGRESS -> COMPLETED | PARTIAL | FAILED."""

    key: str
    user_id: str
    strategy_id: str
    execution_type: ExecutionType
    execution_date: IsoDate
    execution_time: str  # HH:MM IST
    status: ExecutionStatus
    scheduled_at: str
    workflow: ExecutionWorkflow
    plan: ExecutionPlan
    version: int
    # A scheduled or manual run says what it trades; a close from the watch says why it closes.
    total_legs: int | None = None
    total_lots: int | None = None
    brokers_involved: list[str] | None = None
    manual: bool | None = None
    reason: str | None = None
    attempt: int | None = None
    started_at: str | None = None
    completed_at: str | None = None
    execution_results: ExecutionResults | None = None
    # Found after its time had passed (the platform was down, the workflow died): when it was due
    # and found (UTC), and how late it ran (a MISSED one never runs; `reason` says which rule).
    due_at: str | None = None
    found_at: str | None = None
    late_minutes: int | None = None

    @classmethod
    def of_entry(
        cls,
        entry: ScheduleEntry,
        *,
        key: str,
        day: date,
        hhmm: str,
        status: ExecutionStatus,
        workflow: ExecutionWorkflow,
        scheduled_at: str,
        **given: object,
    ) -> ExecutionRecord:
        """The execution of a schedule entry on a trading day at HH:MM (IST): what it trades and
        its plan come from the entry; `given` are the optional fields (manual, reason)."""
        return cls.model_validate(
            {
                "key": key,
                "user_id": entry.user_id,
                "strategy_id": entry.strategy_id,
                "execution_date": day,
                "execution_time": hhmm,
                "execution_type": entry.execution_type,
                "total_legs": entry.total_legs,
                "total_lots": entry.total_lots,
                "brokers_involved": entry.brokers_involved,
                "status": status,
                "scheduled_at": scheduled_at,
                "workflow": workflow,
                "plan": entry.plan,
                "version": 1,
                **given,
            }
        )

    @property
    def ref(self) -> ExecutionRef:
        return ExecutionRef(
            self.user_id,
            self.key,
            self.strategy_id,
            self.execution_type,
            self.execution_date.isoformat(),
        )


class ExecutionReport(Record):
    """What the executor returns for one execution: its final status and results, or
    ALREADY_CLAIMED (and no results) when another executor had it."""

    status: ExecutionStatus
    key: str  # the execution record's
    results: ExecutionResults | None = None


# --------------------------------------------------------------------------------------------
# Orders and fills
# --------------------------------------------------------------------------------------------
class Fill(Record):
    """What nets into a position: an order of ours that filled, a duplicate copy the broker filled,
    or the exchange's settlement of an expired contract."""

    key: str | None = None  # None until the store has placed it
    user_id: str
    # the contract, handed on to the position it opens
    strategy_id: str
    client_id: str
    broker: BrokerName
    leg_no: int
    underlying: str
    expiry: IsoDate
    expiry_type: ExpiryType
    strike: Decimal
    option_type: OptionType
    lot_size: int
    tradingsymbol: str
    # the fill
    execution_key: str  # the execution that sent it (its record's key), or an ExchangeClose
    tag: str
    quantity: int  # units, always positive: transaction_type says which way
    transaction_type: Side
    status: OrderStatus
    placed_at: str
    fill_price: Decimal | None = None
    reason: str | None = None


class Settlement(Fill):
    """An expired contract closed by the exchange at its intrinsic value, without an order."""

    reason: str
    fill_price: Decimal


class OrderRecord(Fill):
    """The ORDER# item: the intent recorded before an order is sent, then what the broker said.

    It carries the terms its position inherits when it opens one (product, mode, the leg's stop
    loss, the allocation's max_daily_loss)."""

    execution_type: ExecutionType
    slice_no: int
    lots: int
    order_type: OrderType
    price: Decimal | None = None  # None for MARKET orders
    product: Product
    mode: AccountMode
    max_daily_loss: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_type: StopLossType
    # what the broker said, once it has
    broker_order_id: str | None = None
    status_message: str | None = None
    filled_at: str | None = None
    # a fill netted into its position (set in the same transaction; never written over)
    position_applied: bool | None = None
    # an extra copy of an order of ours that reached the broker twice: the tag it copies
    duplicate_of: str | None = None

    @property
    def outcome(self) -> OrderOutcome:
        return OrderOutcome(
            client_id=self.client_id,
            leg_no=self.leg_no,
            tradingsymbol=self.tradingsymbol,
            tag=self.tag,
            status=self.status,
            quantity=self.quantity,
            transaction_type=self.transaction_type,
            fill_price=self.fill_price,
            broker_order_id=self.broker_order_id,
            reason=self.reason,
        )


# --------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------
class Position(Record):
    """The POSITION# item: what one strategy holds of one contract on one account and leg.

    Its identity is (user_id, strategy_id, client_id, leg_no, tradingsymbol); the adapter derives
    the table key from it and fills `key` when it reads one (None for a position not yet stored).
    """

    key: str | None = None
    user_id: str
    strategy_id: str
    client_id: str
    leg_no: int
    tradingsymbol: str
    # the contract
    broker: BrokerName
    underlying: str
    expiry: IsoDate
    expiry_type: ExpiryType
    strike: Decimal
    option_type: OptionType
    lot_size: int
    # the holding
    quantity: int  # net units: negative when short
    average_price: Decimal
    realised_pnl: Decimal  # since the position was first opened
    realised_today: Decimal  # on realised_on
    realised_on: IsoDate
    trade_realised: Decimal  # since it last opened from flat
    updated_at: str
    version: int
    # the terms its opening order handed on
    product: Product | None = None
    mode: AccountMode | None = None
    stop_loss: Decimal | None = None
    stop_loss_type: StopLossType | None = None
    max_daily_loss: Decimal | None = None
    opened_at: str | None = None
    opened_by: str | None = None  # the execution key of the opening order
    # a close's claim: the execution closing it, and since when
    closing_by: str | None = None
    closing_since: str | None = None


# --------------------------------------------------------------------------------------------
# Reading many records
# --------------------------------------------------------------------------------------------
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Unreadable:
    """A stored item that does not read as its record (a value no model accepts, an attribute
    missing): whose it is, its opaque key and why. A read of many records hands these back beside
    the others, so one bad item is reported by the run that met it and never stops the run for
    everyone else."""

    user_id: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.user_id} {self.key}: unreadable: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Found(Generic[T]):
    """What a read of many records found: the records that read, and the items that did not."""

    records: list[T]
    unreadable: list[Unreadable] = dataclasses.field(default_factory=list)

    def every(self) -> list[T]:
        """The records, for a caller whose answer is wrong without any one of them."""
        if self.unreadable:
            raise UnreadableRecords(self.unreadable)
        return self.records


class UnreadableRecords(ValueError):
    """Stored items that do not read, where an answer needs every one."""

    def __init__(self, unreadable: list[Unreadable]):
        super().__init__("; ".join(str(u) for u in unreadable))
        self.unreadable = unreadable


def unplaced_reason(status: OrderStatus, broker_message: str | None) -> str | None:
    """Why an order ended without being placed (REJECTED, CANCELLED, LAPSED, FAILED), in the
    broker's words when it gave some; None for an order placed or not yet answered."""
    if status.placed or status is OrderStatus.INTENT:
        return None
    return broker_message or f"the broker answered {status} without saying why"
