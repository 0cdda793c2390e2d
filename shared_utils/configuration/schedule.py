"""The compiled schedule: what the engine reads at a time slot, rebuilt whenever a strategy changes.

Each entry is one (ENTRY|EXIT, weekday) of one strategy. It carries the execution plan (legs and
each account's lots), so the hot path reads nothing more. How entries are stored and found (per user
by time, and in sharded slot partitions so that discovering a slot costs the same few queries
however many users there are) is the storage adapter's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from shared_utils.domain.enums import (
    AccountMode,
    BrokerName,
    EntityStatus,
    ExecutionType,
    OrderType,
    Product,
    Weekday,
)
from shared_utils.domain.models import (
    Allocation,
    ExecutionConfig,
    Leg,
    LegInput,
    RiskLimits,
    Strategy,
)

# What a plan's leg leaves out of the trader's leg: its bookkeeping.
LEG_BOOKKEEPING = frozenset({"created_at", "updated_at", "version", "strategy_id"})


class Record(BaseModel):
    """A stored record: frozen; attributes it does not know (keys, index attributes) are not fields;
    and it serializes the fields it was given, never a default it was not (see engine/records.py),
    while the domain values inside it (risk limits, a leg) serialize whole."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_serializer(mode="wrap")
    def _given_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {name: value for name, value in data.items() if name in self.model_fields_set}


# --------------------------------------------------------------------------------------------
# Execution plans: compiled into the schedule, copied into each execution record by the engine
# --------------------------------------------------------------------------------------------
class PlanLeg(LegInput):
    """A leg as the plan carries it: the trader's leg without its bookkeeping (strategy id,
    timestamps, version). Validated like the leg it was compiled from, so not frozen (validation
    fills the strike selection and category in place)."""

    model_config = ConfigDict(extra="ignore")
    underlying: str


class AccountPlan(Record):
    """One account's part of an execution: which broker, how many lots of each leg (by leg number,
    as a string), and the allocation's limits."""

    client_id: str
    broker: BrokerName
    mode: AccountMode
    priority: int
    lots_per_leg: dict[str, int]
    risk_limits: RiskLimits
    execution_config: ExecutionConfig


class PlanClose(Record):
    """What a close made by the position watch is limited to: one account, and for a stop loss the
    one position it names (its `key`)."""

    client_id: str
    position_key: str | None = None


class ExecutionPlan(Record):
    """What the engine needs at one execution, so the hot path reads nothing more.

    A scheduled entry or exit carries the strategy, its legs and its accounts. A close the position
    watch makes (a stop loss, the intraday square-off, a daily-loss exit) carries only the
    underlying, `order_type` MARKET, `close` (None for the whole strategy) and no legs: it closes
    what is held, on the account that holds it.
    """

    underlying: str
    legs: list[PlanLeg]
    user_id: str | None = None
    strategy_id: str | None = None
    strategy_name: str | None = None
    product: Product | None = None
    is_intra_day: bool | None = None
    allocations: list[AccountPlan] = Field(default_factory=list)
    order_type: OrderType | None = None  # every order of the close is of this type
    close: PlanClose | None = None
    # How many minutes late a missed entry may still be entered (the strategy's); a plan compiled
    # before strategies had one reads as the default.
    entry_grace_minutes: int = 5

    def leg(self, leg_no: int) -> PlanLeg | None:
        return next((leg for leg in self.legs if leg.leg_no == leg_no), None)


class ScheduleEntry(Record):
    """One (ENTRY|EXIT, weekday) of one strategy in the compiled schedule: when it is due and the
    plan it runs. The adapter keys it (per user by time, and in its sharded slot)."""

    user_id: str
    execution_type: ExecutionType
    execution_time: str  # HH:MM IST
    weekday: Weekday
    strategy_id: str
    total_legs: int
    total_lots: int
    brokers_involved: list[str]  # the client ids of the accounts the plan trades
    plan: ExecutionPlan


def execution_plan(
    user_id: str,
    strategy: Strategy,
    legs: Mapping[int, Leg],
    allocations: Iterable[Allocation],
    *,
    for_exit: bool = False,
) -> ExecutionPlan:
    """What the engine needs at one execution. An entry trades the enabled legs on the ACTIVE accounts
    that trade them; an exit must reach every leg and account that may hold a position, whatever has
    been paused or disabled since the entry."""
    ordered = sorted(allocations, key=lambda a: (a.priority, a.client_id))
    trading = (
        ordered
        if for_exit
        else [
            a
            for a in ordered
            if a.status == EntityStatus.ACTIVE and a.calculated_totals.total_lots_per_execution > 0
        ]
    )
    return ExecutionPlan(
        user_id=user_id,
        strategy_id=strategy.strategy_id,
        strategy_name=strategy.strategy_name,
        underlying=strategy.underlying,
        product=strategy.product,
        is_intra_day=strategy.is_intra_day,
        entry_grace_minutes=strategy.entry_grace_minutes,
        legs=[
            PlanLeg.model_validate(leg.model_dump(mode="python", exclude=set(LEG_BOOKKEEPING)))
            for _, leg in sorted(legs.items())
            if leg.enabled or for_exit
        ],
        allocations=[
            AccountPlan(
                client_id=a.client_id,
                broker=a.broker,
                mode=a.mode,
                priority=a.priority,
                lots_per_leg=a.calculated_totals.lots_per_leg,
                risk_limits=a.risk_limits,
                execution_config=a.execution_config,
            )
            for a in trading
        ],
    )


def compile_schedule(
    user_id: str, strategy: Strategy, legs: Mapping[int, Leg], allocations: Iterable[Allocation]
) -> list[ScheduleEntry]:
    """Entries exist while the strategy is ACTIVE and some account trades some leg. Exits exist while
    it is ACTIVE or PAUSED and has legs: pausing stops new entries, never the closing of positions."""
    allocations = list(allocations)
    plans = {
        ExecutionType.ENTRY: execution_plan(user_id, strategy, legs, allocations),
        ExecutionType.EXIT: execution_plan(user_id, strategy, legs, allocations, for_exit=True),
    }
    entry = plans[ExecutionType.ENTRY]
    slots: list[tuple[ExecutionType, str, str]] = []
    if strategy.status == EntityStatus.ACTIVE and entry.allocations and entry.legs:
        slots += [(ExecutionType.ENTRY, strategy.entry_time, day) for day in strategy.entry_days]
    if strategy.status in (EntityStatus.ACTIVE, EntityStatus.PAUSED) and legs:
        slots += [(ExecutionType.EXIT, strategy.exit_time, day) for day in strategy.exit_days]
    return [
        ScheduleEntry(
            user_id=user_id,
            execution_type=execution_type,
            execution_time=hhmm,
            weekday=Weekday(weekday),
            strategy_id=strategy.strategy_id,
            total_legs=len(plans[execution_type].legs),
            total_lots=sum(sum(a.lots_per_leg.values()) for a in plans[execution_type].allocations),
            brokers_involved=[a.client_id for a in plans[execution_type].allocations],
            plan=plans[execution_type],
        )
        for execution_type, hhmm, weekday in slots
    ]
