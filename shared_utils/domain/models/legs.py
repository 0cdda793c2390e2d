"""Legs: the options a strategy trades, and how each picks its strike at entry."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from shared_utils.domain.enums import (
    ExpiryRollover,
    ExpiryType,
    LegCategory,
    OptionType,
    OrderType,
    Side,
    StopLossType,
    StrikeMethod,
)
from shared_utils.domain.models.base import (
    AS_JSON_NUMBER,
    JSON_NUMBER,
    MAX_LEGS_PER_STRATEGY,
    WHOLE,
    ApiModel,
    Change,
    EntityId,
    Flag,
    Points,
    StoredModel,
    Timestamp,
    Underlying,
    Version,
    WholeNumber,
    number_schema,
    upper,
)

ENTRY_BY_ALIASES = {"ATM_DISTANCE": StrikeMethod.STRIKE_DISTANCE}


def _entry_by(value: Any) -> Any:
    value = upper(value)
    return ENTRY_BY_ALIASES.get(value, value) if isinstance(value, str) else value


EntryBy = Annotated[StrikeMethod, BeforeValidator(_entry_by)]
Delta = Annotated[
    Decimal,
    Field(gt=0, lt=1, decimal_places=4, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(exclusiveMinimum=0, exclusiveMaximum=1),
]
StrikeDistance = Annotated[
    Decimal,
    Field(ge=-100000, le=100000, decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(minimum=-100000, maximum=100000),
]
TargetPremium = Annotated[
    Decimal,
    Field(gt=0, le=100000, decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(exclusiveMinimum=0, maximum=100000),
]
TransactionType = Annotated[Side, BeforeValidator(upper)]
LegType = Annotated[OptionType, BeforeValidator(upper)]
StopLossKind = Annotated[StopLossType, BeforeValidator(upper)]
Expiry = Annotated[ExpiryType, BeforeValidator(upper)]
Rollover = Annotated[ExpiryRollover, BeforeValidator(upper)]
ExpiryOffset = Annotated[int, Field(ge=0, le=4), WHOLE]
Category = Annotated[LegCategory, BeforeValidator(upper)]
# A leg enters with a plain order; the stop-loss order types are the engine's, never a leg's.
ENTRY_ORDER_TYPES = (OrderType.MARKET, OrderType.LIMIT)


def _entry_order_type(value: Any) -> Any:
    value = upper(value)
    if value not in ENTRY_ORDER_TYPES:
        expected = " or ".join(f"'{kind}'" for kind in ENTRY_ORDER_TYPES)
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": expected}
        )
    return value


EntryOrderType = Annotated[
    OrderType,
    BeforeValidator(_entry_order_type),
    WithJsonSchema({"enum": list(ENTRY_ORDER_TYPES), "type": "string"}),
]
LegNo = Annotated[int, Field(ge=1, le=MAX_LEGS_PER_STRATEGY, description="1 to 6"), WHOLE]
Lots = Annotated[int, Field(ge=1, le=10000, description="Whole lots"), WHOLE]
SizingLots = Annotated[int, Field(ge=1, le=10000), WHOLE]


class StrikeSelection(ApiModel):
    """How the strike is picked at entry: the method with its one value. A value left out takes the
    method's default at entry. An update always sends the method: the same method changes the value
    sent and keeps it when left out (null returns it to the default); another method replaces the
    whole object."""

    chosen_by = "method"
    method: EntryBy
    delta_value: Delta | None = Field(None, description="Target absolute delta")
    strike_distance: StrikeDistance | None = Field(
        None, description="Points from ATM; positive is out of the money"
    )
    atm_offset: Annotated[int, Field(ge=-50, le=50), WHOLE] | None = Field(
        None, description="Strikes from ATM; positive is out of the money"
    )
    premium: TargetPremium | None = Field(None, description="Target premium (nearest)")

    @model_validator(mode="after")
    def _only_the_methods_value(self) -> Self:
        values = {
            StrikeMethod.DELTA: "delta_value",
            StrikeMethod.STRIKE_DISTANCE: "strike_distance",
            StrikeMethod.ATM_OFFSET: "atm_offset",
            StrikeMethod.PREMIUM: "premium",
        }
        for method, name in values.items():
            if method != self.method and getattr(self, name) is not None:
                raise ValueError(f"{name}: belongs to method {method}, not {self.method}")
        if self.method is StrikeMethod.PREMIUM and self.premium is None:
            raise ValueError("premium: the PREMIUM method needs the premium to aim at")
        return self


class PositionSizing(ApiModel):
    """On an update, the fields sent change and the others are kept; null removes max_lots."""

    min_lots: SizingLots = 1
    max_lots: SizingLots | None = Field(None, description="No cap when absent")
    lot_increment: SizingLots = 1

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_lots is not None and self.max_lots < self.min_lots:
            raise ValueError("max_lots: must not be below min_lots")
        return self

    def check(self, lots: int) -> str | None:
        if lots < self.min_lots:
            return f"{lots} lots is below the leg's min_lots {self.min_lots}"
        if self.max_lots is not None and lots > self.max_lots:
            return f"{lots} lots is above the leg's max_lots {self.max_lots}"
        if lots % self.lot_increment:
            return f"{lots} lots is not a multiple of the leg's lot_increment {self.lot_increment}"
        return None


CLEARABLE_LIMITS = frozenset({"stop_loss", "entry_max_slippage", "exit_max_slippage"})


class LegSettings(ApiModel):
    null_clears = CLEARABLE_LIMITS
    derived_when_left_out = frozenset({"underlying", "category"})
    lots: Lots = Field(description="Base lots; allocations say how many each account trades")
    transaction_type: TransactionType
    leg_type: LegType
    underlying: Underlying | None = Field(
        None, description="Defaults to the strategy's; must match it"
    )
    entry_by: EntryBy | None = None
    strike_selection_config: StrikeSelection | None = None
    stop_loss: Points | None = Field(None, description="Absent: no stop loss")
    stop_loss_type: StopLossKind = Field(
        StopLossType.POINTS,
        description="stop_loss in premium points (default) or percent of the entry premium",
    )
    expiry_type: Expiry = ExpiryType.WEEKLY
    expiry_offset: ExpiryOffset = Field(
        0, description="Which expiry of that type: 0 the nearest, 1 the next"
    )
    expiry_rollover: Rollover = Field(
        ExpiryRollover.NONE,
        description="When that expiry can no longer be entered (it expires too soon today): NONE refuses the entry, NEXT takes the next expiry of its type",
    )
    category: Category | None = None
    order_type: EntryOrderType = OrderType.LIMIT
    entry_slippage: Points = Decimal(0)
    exit_slippage: Points = Decimal(0)
    entry_max_slippage: Points | None = None
    exit_max_slippage: Points | None = None
    position_sizing: PositionSizing = Field(default_factory=PositionSizing)
    enabled: Flag = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self._strike_method_agrees()
        natural = LegCategory.LONG if self.transaction_type is Side.BUY else LegCategory.SHORT
        if self.category is None:
            self.category = natural
        elif self.category is not LegCategory.SPREAD and self.category != natural:
            raise ValueError(
                f"category: a {self.transaction_type} leg is {natural} (or SPREAD), not {self.category}"
            )
        if self.expiry_type is ExpiryType.MONTHLY and self.expiry_offset > 2:
            raise ValueError(
                "expiry_offset: the exchange lists three monthly expiries (offset 0 to 2)"
            )
        if (
            self.stop_loss_type is StopLossType.PERCENT
            and self.stop_loss is not None
            and self.stop_loss > 1000
        ):
            raise ValueError("stop_loss: a percent stop loss must be at most 1000")
        for side in ("entry", "exit"):
            slippage, limit = (
                getattr(self, f"{side}_slippage"),
                getattr(self, f"{side}_max_slippage"),
            )
            if limit is not None and limit < slippage:
                raise ValueError(
                    f"{side}_max_slippage: must not be below {side}_slippage ({limit} < {slippage})"
                )
        problem = self.position_sizing.check(self.lots)
        if problem:
            raise ValueError(f"lots: {problem}")
        return self

    def _strike_method_agrees(self) -> None:
        """entry_by and strike_selection_config say the same thing; either one may be left out."""
        if self.strike_selection_config is None:
            if self.entry_by is None:
                raise ValueError(
                    "entry_by: say how the strike is chosen (DELTA, STRIKE_DISTANCE, ATM_OFFSET or PREMIUM)"
                )
            if self.entry_by is StrikeMethod.PREMIUM:
                raise ValueError(
                    'strike_selection_config: PREMIUM needs the premium to aim at, e.g. {"method": "PREMIUM", "premium": 40}'
                )
            self.strike_selection_config = StrikeSelection(method=self.entry_by)
        elif self.entry_by is None:
            self.entry_by = self.strike_selection_config.method
        elif self.entry_by != self.strike_selection_config.method:
            raise ValueError(
                f"strike_selection_config.method: {self.strike_selection_config.method} contradicts entry_by {self.entry_by}"
            )


class LegInput(LegSettings):
    leg_no: LegNo


class LegsCreate(ApiModel):
    legs: Annotated[list[LegInput], Field(min_length=1, max_length=MAX_LEGS_PER_STRATEGY)]

    @model_validator(mode="after")
    def _unique_leg_numbers(self) -> Self:
        seen: set[int] = set()
        for index, leg in enumerate(self.legs):
            if leg.leg_no in seen:
                raise ValueError(f"legs[{index}].leg_no: leg {leg.leg_no} appears twice")
            seen.add(leg.leg_no)
        return self


class LegUpdate(ApiModel):
    null_clears = CLEARABLE_LIMITS
    lots: Change[Lots] = None
    transaction_type: Change[TransactionType] = None
    leg_type: Change[LegType] = None
    underlying: Change[Underlying] = None
    entry_by: Change[EntryBy] = None
    strike_selection_config: Change[StrikeSelection] = Field(
        None,
        description="Send the method: the same method keeps its value unless sent (null: the default); another method replaces it whole",
    )
    stop_loss: Points | None = Field(None, description="null removes the stop loss")
    stop_loss_type: Change[StopLossKind] = None
    expiry_type: Change[Expiry] = None
    expiry_offset: Change[ExpiryOffset] = None
    expiry_rollover: Change[Rollover] = None
    category: Change[Category] = None
    order_type: Change[EntryOrderType] = None
    entry_slippage: Change[Points] = None
    exit_slippage: Change[Points] = None
    entry_max_slippage: Points | None = Field(None, description="null removes the limit")
    exit_max_slippage: Points | None = Field(None, description="null removes the limit")
    position_sizing: Change[PositionSizing] = Field(
        None,
        description="The fields sent change, the others are kept; null max_lots removes the cap",
    )
    enabled: Change[Flag] = None
    version: Change[Version] = None
    leg_no: Change[WholeNumber] = Field(None, description="If sent, must be the path's")
    strategy_id: Change[EntityId] = Field(None, description="If sent, must be the path's")


class Leg(LegInput, StoredModel):
    model_config = ConfigDict(extra="ignore")
    strategy_id: str
    underlying: str
    created_at: Timestamp
    updated_at: Timestamp
    version: int = 1
