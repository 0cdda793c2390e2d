"""Allocations: which broker account trades which legs of a strategy, with how many lots."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared_utils.domain.enums import AccountMode, AllocationType, BrokerName, EntityStatus
from shared_utils.domain.models.base import (
    AS_JSON_NUMBER,
    JSON_NUMBER,
    MAX_ALLOCATIONS_PER_STRATEGY,
    MAX_LEGS_PER_STRATEGY,
    WHOLE,
    ApiModel,
    Change,
    ClientId,
    EntityId,
    Flag,
    Metrics,
    Money,
    Percent,
    PositiveMoney,
    Status,
    StoredModel,
    Timestamp,
    Version,
    number_schema,
    upper,
)


def _leg_key(value: Any) -> str:
    # Exactly "1" to "6": a key that normalised (" 1 ", "01") could meet another for the same leg,
    # and one of the two would be silently dropped.
    if value not in {str(n) for n in range(1, MAX_LEGS_PER_STRATEGY + 1)}:
        raise ValueError(
            f'{value!r} is not a leg number; legs are numbered "1" to "{MAX_LEGS_PER_STRATEGY}", written exactly so'
        )
    return str(value)


LegKey = Annotated[str, BeforeValidator(_leg_key)]
LotsMultiplier = Annotated[
    Decimal,
    Field(gt=0, le=1000, decimal_places=4, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(exclusiveMinimum=0, maximum=1000),
]
Priority = Annotated[int, Field(ge=1, le=100), WHOLE]


class LegOverride(ApiModel):
    lots: Annotated[int, Field(ge=0, le=10000), WHOLE]
    enabled: Flag = True
    notes: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _lots_when_enabled(self) -> Self:
        if self.enabled and self.lots < 1:
            raise ValueError(
                "lots: an enabled leg needs at least 1 lot (set enabled false to skip it)"
            )
        return self


class AllocationConfig(ApiModel):
    """How many lots this account trades: the type with its legs or its multiplier. An update
    always sends the type: the same type changes the field sent, another type replaces the whole
    object. leg_overrides is taken whole: it lists every leg this account trades."""

    chosen_by = "type"
    type: Annotated[AllocationType, BeforeValidator(upper)]
    leg_overrides: dict[LegKey, LegOverride] | None = Field(
        None, description="LEG_LEVEL: only the legs listed and enabled trade on this account"
    )
    strategy_lots_multiplier: LotsMultiplier | None = Field(
        None, description="STRATEGY_LEVEL: every enabled leg trades lots x multiplier (whole lots)"
    )

    @model_validator(mode="after")
    def _fits_type(self) -> Self:
        if self.type is AllocationType.LEG_LEVEL:
            if not self.leg_overrides:
                raise ValueError("leg_overrides: a LEG_LEVEL allocation lists the legs it trades")
            if self.strategy_lots_multiplier is not None:
                raise ValueError("strategy_lots_multiplier: belongs to STRATEGY_LEVEL allocations")
        else:
            if self.leg_overrides:
                raise ValueError("leg_overrides: belongs to LEG_LEVEL allocations")
            if self.strategy_lots_multiplier is None:
                # A LEG_LEVEL allocation reads back with a null multiplier; a STRATEGY_LEVEL one
                # never does, so a null sent for it is not "left out" and is not read as 1.
                if "strategy_lots_multiplier" in self.model_fields_set:
                    raise ValueError(
                        "strategy_lots_multiplier: must not be null for a STRATEGY_LEVEL "
                        "allocation; leave it out for 1"
                    )
                self.strategy_lots_multiplier = Decimal(1)
                # A default, not sent: an update of the same type keeps the stored multiplier.
                self.__pydantic_fields_set__.discard("strategy_lots_multiplier")
        return self


class RiskLimits(ApiModel):
    """Per account per strategy. A limit left out is not enforced. On an update, the limits sent
    change and the others are kept; null removes that one limit."""

    max_daily_trades: Annotated[int, Field(ge=1, le=100000), WHOLE] | None = None
    max_daily_loss: PositiveMoney | None = None
    max_position_value: PositiveMoney | None = None
    max_margin_utilization: Percent | None = Field(None, description="Percent of available margin")


class ExecutionConfig(ApiModel):
    """On an update, the settings sent change and the others are kept."""

    execution_delay_ms: Annotated[int, Field(ge=0, le=60000), WHOLE] = 0
    prefer_for_entries: Flag = True
    prefer_for_exits: Flag = True
    enable_auto_rebalance: Flag = False


def _flat_allocation(data: Any) -> Any:
    """The spec writes allocations two ways: with `allocation_config`, and flat (`leg_overrides` or
    `strategy_lots_multiplier` at the top). Both mean the same."""
    if not isinstance(data, dict) or "allocation_config" in data:
        return data
    data = dict(data)
    if "leg_overrides" in data:
        data["allocation_config"] = {
            "type": AllocationType.LEG_LEVEL,
            "leg_overrides": data.pop("leg_overrides"),
        }
    elif "strategy_lots_multiplier" in data:
        data["allocation_config"] = {
            "type": AllocationType.STRATEGY_LEVEL,
            "strategy_lots_multiplier": data.pop("strategy_lots_multiplier"),
        }
    return data


def _one_lot_per_leg() -> AllocationConfig:
    return AllocationConfig(type=AllocationType.STRATEGY_LEVEL, strategy_lots_multiplier=Decimal(1))


class AllocationInput(ApiModel):
    client_id: ClientId
    priority: Priority = 1
    allocation_config: AllocationConfig = Field(default_factory=_one_lot_per_leg)
    risk_limits: RiskLimits = Field(default_factory=RiskLimits)
    execution_config: ExecutionConfig = Field(default_factory=ExecutionConfig)
    status: Status = EntityStatus.ACTIVE

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        return _flat_allocation(data)


class AdvancedAllocationsRequest(ApiModel):
    allocations: Annotated[
        list[AllocationInput], Field(min_length=1, max_length=MAX_ALLOCATIONS_PER_STRATEGY)
    ]

    @model_validator(mode="before")
    @classmethod
    def _single_allocation(cls, data: Any) -> Any:
        if isinstance(data, dict) and "allocations" not in data and "client_id" in data:
            return {"allocations": [data]}
        return data

    @model_validator(mode="after")
    def _one_per_account(self) -> Self:
        seen: set[str] = set()
        for index, allocation in enumerate(self.allocations):
            if allocation.client_id in seen:
                raise ValueError(
                    f"allocations[{index}].client_id: {allocation.client_id} appears twice"
                )
            seen.add(allocation.client_id)
        return self


class AllocationUpdate(ApiModel):
    priority: Change[Priority] = None
    allocation_config: Change[AllocationConfig] = Field(
        None,
        description="Send the type: the same type changes the field sent (leg_overrides whole: every leg this account trades), another type replaces it whole",
    )
    risk_limits: Change[RiskLimits] = Field(
        None,
        description="The limits sent change, the others are kept; null removes one limit",
    )
    execution_config: Change[ExecutionConfig] = Field(
        None, description="The settings sent change, the others are kept"
    )
    status: Change[Status] = None
    version: Change[Version] = None
    client_id: Change[EntityId] = Field(None, description="If sent, must be the path's")
    strategy_id: Change[EntityId] = Field(None, description="If sent, must be the path's")

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        return _flat_allocation(data)


class CalculatedTotals(BaseModel):
    """Lots only: units depend on the lot size of the contract traded, so they are computed when read
    (the allocation summary), never stored where a lot-size change would leave them stale."""

    total_lots_per_execution: int
    legs_enabled: int
    lots_per_leg: dict[str, int] = Field(description="Lots this account trades, by leg number")
    estimated_margin_required: Money | None = Field(
        None, description="Not estimated until market data is available to price the legs"
    )


class Allocation(AllocationInput, StoredModel):
    model_config = ConfigDict(extra="ignore")
    strategy_id: str
    broker: BrokerName
    mode: AccountMode
    performance_metrics: Metrics
    calculated_totals: CalculatedTotals
    created_at: Timestamp
    updated_at: Timestamp
    last_used: Timestamp | None = None
    version: int = 1
