"""The configuration plane's entities, in the trader's words.

One set of models feeds request validation, the OpenAPI document and what is stored. Input models
(`*Create`, `*Update`, `*Input`) take what a trader may send; stored models add what the platform
owns (ids, timestamps, version, derived totals). Fields the platform owns are ignored when a client
sends them (a `user_id` in a body changes nothing); any other unknown field is an error naming it,
so that a misspelt `stop_los` is not silently dropped.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from shared_utils.domain.instruments import built_in_catalog

MAX_STRATEGIES_PER_BASKET = 10
MAX_LEGS_PER_STRATEGY = 6
MAX_ALLOCATIONS_PER_STRATEGY = 20
SESSION_OPEN, SESSION_CLOSE = "09:15", "15:30"
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")

# Sent by clients that echo back what they read; never taken from a body.
SERVER_OWNED_FIELDS = frozenset(
    {
        "user_id",
        "created_at",
        "updated_at",
        "created_by_type",
        "creator_user_id",
        "performance_metrics",
        "calculated_totals",
        "execution_schedule",
        "last_used",
        "strategy_count",
        "deployable_capital",
        "broker",
        "mode",
        "legs",
        "allocations",
        "strategies",
    }
)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(*, gt=None, ge=None, le=None, lt=None, places: int = 2):
    """A decimal that the API documents as a JSON number (a numeric string is accepted too)."""
    bounds = {"exclusiveMinimum": gt, "minimum": ge, "maximum": le, "exclusiveMaximum": lt}
    return Annotated[
        Decimal,
        Field(gt=gt, ge=ge, le=le, lt=lt, decimal_places=places, allow_inf_nan=False),
        PlainSerializer(_json_number, return_type=Union[int, float], when_used="json"),
        WithJsonSchema(
            {"type": "number", **{k: float(v) for k, v in bounds.items() if v is not None}}
        ),
    ]


Money = _decimal(ge=0, le=Decimal("1e13"))
PositiveMoney = _decimal(gt=0, le=Decimal("1e13"))
Points = _decimal(ge=0, le=Decimal("100000"))
Percent = _decimal(gt=0, le=100)


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _session_time(value: str) -> str:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError("must be a 24-hour IST time HH:MM, for example 09:30")
    if not SESSION_OPEN <= value <= SESSION_CLOSE:
        raise ValueError(f"must be inside the market session {SESSION_OPEN}-{SESSION_CLOSE} IST")
    return value


def _known_underlying(value: str) -> str:
    catalog = built_in_catalog()
    if value not in catalog:
        raise ValueError(f"unknown underlying {value!r}; one of {', '.join(catalog.underlyings)}")
    return value


def _unique_days(days: list[str]) -> list[str]:
    if len(set(days)) != len(days):
        raise ValueError("each weekday may appear once")
    return sorted(days, key=WEEKDAYS.index)


SessionTime = Annotated[str, AfterValidator(_session_time)]
Weekday = Annotated[
    Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], BeforeValidator(_upper)
]
Weekdays = Annotated[list[Weekday], Field(min_length=1, max_length=5), AfterValidator(_unique_days)]
Underlying = Annotated[
    str,
    BeforeValidator(_upper),
    AfterValidator(_known_underlying),
    WithJsonSchema(
        {
            "type": "string",
            "enum": built_in_catalog().underlyings,
            "description": "From the instrument list",
        }
    ),
]
Status = Annotated[Literal["ACTIVE", "PAUSED", "ARCHIVED"], BeforeValidator(_upper)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=1000)]
ClientId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$",
        description="The broker account's client id, as the broker spells it",
    ),
]
Timestamp = Annotated[str, Field(description="UTC ISO-8601")]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_server_owned(cls, data: Any) -> Any:
        if isinstance(data, dict):
            owned = SERVER_OWNED_FIELDS - set(cls.model_fields)
            return {key: value for key, value in data.items() if key not in owned}
        return data


class StoredModel(BaseModel):
    """What is read back from the table: extra attributes (keys, index attributes) are not fields."""

    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------------------------
# Broker accounts
# --------------------------------------------------------------------------------------------
Broker = Annotated[
    Literal["ZERODHA", "ANGELONE", "UPSTOX", "DHAN", "FYERS", "FINVASIA", "ICICIDIRECT", "PAPER"],
    BeforeValidator(_upper),
]


class BrokerAccountCreate(ApiModel):
    client_id: ClientId
    broker: Broker
    mode: Annotated[Literal["PAPER", "LIVE"], BeforeValidator(_upper)] = Field(
        "PAPER", description="PAPER unless LIVE is asked for explicitly"
    )
    display_name: Annotated[str, Field(max_length=100)] | None = None
    paper_funds: PositiveMoney = Field(
        Decimal("1000000"),
        description="Funds of a PAPER account in rupees, against which margin utilization is measured",
    )


class BrokerAccount(BrokerAccountCreate, StoredModel):
    model_config = ConfigDict(extra="ignore")
    created_at: Timestamp
    updated_at: Timestamp
    version: int = 1


# --------------------------------------------------------------------------------------------
# Baskets
# --------------------------------------------------------------------------------------------


class BasketCreate(ApiModel):
    basket_name: Name
    description: Description = ""
    initial_capital: PositiveMoney
    deployable_percentage: Percent = Field(
        Decimal(100), description="Share of capital strategies may use"
    )
    current_capital: Money | None = Field(None, description="Defaults to initial_capital")
    creator_name: Annotated[str, Field(max_length=100)] | None = None
    status: Status = "ACTIVE"


class BasketUpdate(ApiModel):
    basket_name: Name | None = None
    description: Description | None = None
    initial_capital: PositiveMoney | None = None
    deployable_percentage: Percent | None = None
    current_capital: Money | None = None
    creator_name: Annotated[str, Field(max_length=100)] | None = None
    status: Status | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one is a 409")
    basket_id: str | None = Field(None, description="If sent, must be the path's")


class Basket(StoredModel):
    basket_id: str
    basket_name: str
    description: str = ""
    initial_capital: Money
    deployable_percentage: Percent
    current_capital: Money
    deployable_capital: Money
    created_by_type: Literal["USER"] = "USER"
    creator_name: str | None = None
    creator_user_id: str
    performance_metrics: dict[
        str, Annotated[Decimal, PlainSerializer(_json_number, return_type=Union[int, float])]
    ]
    strategy_count: int = 0
    status: Status
    created_at: Timestamp
    updated_at: Timestamp
    version: int


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------
Product = Annotated[Literal["NRML", "MIS"], BeforeValidator(_upper)]
StrategyCategory = Annotated[
    Literal["CONSERVATIVE", "AGGRESSIVE", "HEDGED", "INCOME", "MOMENTUM"], BeforeValidator(_upper)
]


class StrategySettings(ApiModel):
    strategy_name: Name
    description: Description = ""
    entry_time: SessionTime = Field(description="IST, HH:MM, inside 09:15-15:30")
    exit_time: SessionTime = Field(description="IST, HH:MM, inside 09:15-15:30")
    entry_days: Weekdays
    exit_days: Weekdays
    product: Product = Field(
        description="NRML (positional) or MIS (intraday, squared off the same day)"
    )
    underlying: Underlying
    is_intra_day: bool | None = Field(
        None, description="Derived from product; if sent it must agree"
    )
    category: StrategyCategory | None = None
    status: Status = "ACTIVE"

    @model_validator(mode="after")
    def _intraday_rules(self):
        intraday = self.product == "MIS"
        if self.is_intra_day is not None and self.is_intra_day != intraday:
            raise ValueError(
                f"is_intra_day: must be {str(intraday).lower()} for product {self.product} (it is derived from product)"
            )
        self.is_intra_day = intraday
        if intraday:
            if self.exit_time <= self.entry_time:
                raise ValueError(
                    f"exit_time: an intraday (MIS) strategy must exit after it enters ({self.exit_time} is not after {self.entry_time})"
                )
            missing = [day for day in self.entry_days if day not in self.exit_days]
            if missing:
                raise ValueError(
                    f"exit_days: an intraday (MIS) strategy must exit on every entry day; missing {', '.join(missing)}"
                )
        return self


class StrategyCreate(StrategySettings):
    basket_id: str | None = Field(None, description="Omit for a standalone strategy")


class StrategyUpdate(ApiModel):
    strategy_name: Name | None = None
    description: Description | None = None
    entry_time: SessionTime | None = None
    exit_time: SessionTime | None = None
    entry_days: Weekdays | None = None
    exit_days: Weekdays | None = None
    product: Product | None = None
    underlying: Underlying | None = None
    is_intra_day: bool | None = None
    category: StrategyCategory | None = None
    status: Status | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one is a 409")
    strategy_id: str | None = Field(None, description="If sent, must be the path's")
    basket_id: str | None = Field(
        None, description="If sent, must be the strategy's: strategies do not move between baskets"
    )


class ExecutionSchedule(BaseModel):
    entry_time: str
    exit_time: str
    entry_days: list[str]
    exit_days: list[str]
    timezone: Literal["IST"] = "IST"


class Strategy(StrategySettings, StoredModel):
    model_config = ConfigDict(extra="ignore")
    strategy_id: str
    basket_id: str | None = None
    created_by_type: Literal["USER"] = "USER"
    execution_schedule: ExecutionSchedule
    performance_metrics: dict[
        str, Annotated[Decimal, PlainSerializer(_json_number, return_type=Union[int, float])]
    ]
    created_at: Timestamp
    updated_at: Timestamp
    version: int


# --------------------------------------------------------------------------------------------
# Legs
# --------------------------------------------------------------------------------------------
ENTRY_BY_ALIASES = {"ATM_DISTANCE": "STRIKE_DISTANCE"}
StrikeMethod = Literal["DELTA", "STRIKE_DISTANCE", "ATM_OFFSET", "PREMIUM"]


def _entry_by(value: Any) -> Any:
    value = _upper(value)
    return ENTRY_BY_ALIASES.get(value, value) if isinstance(value, str) else value


class StrikeSelection(ApiModel):
    """How the strike is picked at entry. A value left out takes the method's default at entry."""

    method: Annotated[StrikeMethod, BeforeValidator(_entry_by)]
    delta_value: _decimal(gt=0, lt=1, places=4) | None = Field(
        None, description="Target absolute delta"
    )
    strike_distance: _decimal(ge=-100000, le=100000) | None = Field(
        None, description="Points from ATM; positive is out of the money"
    )
    atm_offset: Annotated[int, Field(ge=-50, le=50)] | None = Field(
        None, description="Strikes from ATM; positive is out of the money"
    )
    premium: _decimal(gt=0, le=100000) | None = Field(None, description="Target premium (nearest)")

    @model_validator(mode="after")
    def _only_the_methods_value(self):
        values = {
            "DELTA": "delta_value",
            "STRIKE_DISTANCE": "strike_distance",
            "ATM_OFFSET": "atm_offset",
            "PREMIUM": "premium",
        }
        for method, name in values.items():
            if method != self.method and getattr(self, name) is not None:
                raise ValueError(f"{name}: belongs to method {method}, not {self.method}")
        if self.method == "PREMIUM" and self.premium is None:
            raise ValueError("premium: the PREMIUM method needs the premium to aim at")
        return self


class PositionSizing(ApiModel):
    min_lots: Annotated[int, Field(ge=1, le=10000)] = 1
    max_lots: Annotated[int, Field(ge=1, le=10000)] | None = Field(
        None, description="No cap when absent"
    )
    lot_increment: Annotated[int, Field(ge=1, le=10000)] = 1

    @model_validator(mode="after")
    def _ordered(self):
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


Side = Annotated[Literal["BUY", "SELL"], BeforeValidator(_upper)]
OptionType = Annotated[Literal["CALL", "PUT"], BeforeValidator(_upper)]
LegNo = Annotated[int, Field(ge=1, le=MAX_LEGS_PER_STRATEGY, description="1 to 6")]
Lots = Annotated[int, Field(ge=1, le=10000, description="Whole lots")]


class LegSettings(ApiModel):
    lots: Lots = Field(description="Base lots; allocations say how many each account trades")
    transaction_type: Side
    leg_type: OptionType
    underlying: Underlying | None = Field(
        None, description="Defaults to the strategy's; must match it"
    )
    entry_by: Annotated[StrikeMethod, BeforeValidator(_entry_by)] | None = None
    strike_selection_config: StrikeSelection | None = None
    stop_loss: Points | None = Field(None, description="Absent: no stop loss")
    stop_loss_type: Annotated[Literal["POINTS", "PERCENT"], BeforeValidator(_upper)] = Field(
        "POINTS",
        description="stop_loss in premium points (default) or percent of the entry premium",
    )
    expiry_type: Annotated[Literal["WEEKLY", "MONTHLY"], BeforeValidator(_upper)] = "WEEKLY"
    expiry_offset: Annotated[int, Field(ge=0, le=4)] = Field(
        0, description="Which expiry of that type: 0 the nearest, 1 the next"
    )
    category: Annotated[Literal["LONG", "SHORT", "SPREAD"], BeforeValidator(_upper)] | None = None
    order_type: Annotated[Literal["MARKET", "LIMIT"], BeforeValidator(_upper)] = "LIMIT"
    entry_slippage: Points = Decimal(0)
    exit_slippage: Points = Decimal(0)
    entry_max_slippage: Points | None = None
    exit_max_slippage: Points | None = None
    position_sizing: PositionSizing = Field(default_factory=PositionSizing)
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self):
        if self.entry_by is None and self.strike_selection_config is None:
            raise ValueError(
                "entry_by: say how the strike is chosen (DELTA, STRIKE_DISTANCE, ATM_OFFSET or PREMIUM)"
            )
        if self.strike_selection_config is None:
            if self.entry_by == "PREMIUM":
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
        natural = "LONG" if self.transaction_type == "BUY" else "SHORT"
        if self.category is None:
            self.category = natural
        elif self.category != "SPREAD" and self.category != natural:
            raise ValueError(
                f"category: a {self.transaction_type} leg is {natural} (or SPREAD), not {self.category}"
            )
        if self.expiry_type == "MONTHLY" and self.expiry_offset > 2:
            raise ValueError(
                "expiry_offset: the exchange lists three monthly expiries (offset 0 to 2)"
            )
        if (
            self.stop_loss_type == "PERCENT"
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


class LegInput(LegSettings):
    leg_no: LegNo


class LegsCreate(ApiModel):
    legs: Annotated[list[LegInput], Field(min_length=1, max_length=MAX_LEGS_PER_STRATEGY)]

    @model_validator(mode="after")
    def _unique_leg_numbers(self):
        seen: set[int] = set()
        for index, leg in enumerate(self.legs):
            if leg.leg_no in seen:
                raise ValueError(f"legs[{index}].leg_no: leg {leg.leg_no} appears twice")
            seen.add(leg.leg_no)
        return self


class LegUpdate(ApiModel):
    lots: Lots | None = None
    transaction_type: Side | None = None
    leg_type: OptionType | None = None
    underlying: Underlying | None = None
    entry_by: Annotated[StrikeMethod, BeforeValidator(_entry_by)] | None = None
    strike_selection_config: StrikeSelection | None = None
    stop_loss: Points | None = None
    stop_loss_type: Annotated[Literal["POINTS", "PERCENT"], BeforeValidator(_upper)] | None = None
    expiry_type: Annotated[Literal["WEEKLY", "MONTHLY"], BeforeValidator(_upper)] | None = None
    expiry_offset: Annotated[int, Field(ge=0, le=4)] | None = None
    category: Annotated[Literal["LONG", "SHORT", "SPREAD"], BeforeValidator(_upper)] | None = None
    order_type: Annotated[Literal["MARKET", "LIMIT"], BeforeValidator(_upper)] | None = None
    entry_slippage: Points | None = None
    exit_slippage: Points | None = None
    entry_max_slippage: Points | None = None
    exit_max_slippage: Points | None = None
    position_sizing: PositionSizing | None = None
    enabled: bool | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one is a 409")
    leg_no: int | None = Field(None, description="If sent, must be the path's")
    strategy_id: str | None = Field(None, description="If sent, must be the path's")


class Leg(LegInput, StoredModel):
    model_config = ConfigDict(extra="ignore")
    strategy_id: str
    underlying: str
    created_at: Timestamp
    updated_at: Timestamp
    version: int = 1


# --------------------------------------------------------------------------------------------
# Allocations: which broker account trades which legs, with how many lots
# --------------------------------------------------------------------------------------------
def _leg_key(value: Any) -> str:
    text = str(value).strip()
    if text not in {str(n) for n in range(1, MAX_LEGS_PER_STRATEGY + 1)}:
        raise ValueError(
            f"{text!r} is not a leg number; legs are numbered 1 to {MAX_LEGS_PER_STRATEGY}"
        )
    return text


LegKey = Annotated[str, BeforeValidator(_leg_key)]


class LegOverride(ApiModel):
    lots: Annotated[int, Field(ge=0, le=10000)]
    enabled: bool = True
    notes: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _lots_when_enabled(self):
        if self.enabled and self.lots < 1:
            raise ValueError(
                "lots: an enabled leg needs at least 1 lot (set enabled false to skip it)"
            )
        return self


class AllocationConfig(ApiModel):
    type: Annotated[Literal["LEG_LEVEL", "STRATEGY_LEVEL"], BeforeValidator(_upper)]
    leg_overrides: dict[LegKey, LegOverride] | None = Field(
        None, description="LEG_LEVEL: only the legs listed and enabled trade on this account"
    )
    strategy_lots_multiplier: _decimal(gt=0, le=1000, places=4) | None = Field(
        None, description="STRATEGY_LEVEL: every enabled leg trades lots x multiplier (whole lots)"
    )

    @model_validator(mode="after")
    def _fits_type(self):
        if self.type == "LEG_LEVEL":
            if not self.leg_overrides:
                raise ValueError("leg_overrides: a LEG_LEVEL allocation lists the legs it trades")
            if self.strategy_lots_multiplier is not None:
                raise ValueError("strategy_lots_multiplier: belongs to STRATEGY_LEVEL allocations")
        else:
            if self.leg_overrides:
                raise ValueError("leg_overrides: belongs to LEG_LEVEL allocations")
            if self.strategy_lots_multiplier is None:
                self.strategy_lots_multiplier = Decimal(1)
        return self


class RiskLimits(ApiModel):
    """Per account per strategy. A limit left out is not enforced."""

    max_daily_trades: Annotated[int, Field(ge=1, le=100000)] | None = None
    max_daily_loss: PositiveMoney | None = None
    max_position_value: PositiveMoney | None = None
    max_margin_utilization: Percent | None = Field(None, description="Percent of available margin")


class ExecutionConfig(ApiModel):
    execution_delay_ms: Annotated[int, Field(ge=0, le=60000)] = 0
    prefer_for_entries: bool = True
    prefer_for_exits: bool = True
    enable_auto_rebalance: bool = False


def _flat_allocation(data: Any) -> Any:
    """The spec writes allocations two ways: with `allocation_config`, and flat (`leg_overrides` or
    `strategy_lots_multiplier` at the top). Both mean the same."""
    if not isinstance(data, dict) or "allocation_config" in data:
        return data
    data = dict(data)
    if "leg_overrides" in data:
        data["allocation_config"] = {
            "type": "LEG_LEVEL",
            "leg_overrides": data.pop("leg_overrides"),
        }
    elif "strategy_lots_multiplier" in data:
        data["allocation_config"] = {
            "type": "STRATEGY_LEVEL",
            "strategy_lots_multiplier": data.pop("strategy_lots_multiplier"),
        }
    return data


class AllocationInput(ApiModel):
    client_id: ClientId
    priority: Annotated[int, Field(ge=1, le=100)] = 1
    allocation_config: AllocationConfig = Field(
        default_factory=lambda: AllocationConfig(
            type="STRATEGY_LEVEL", strategy_lots_multiplier=Decimal(1)
        )
    )
    risk_limits: RiskLimits = Field(default_factory=RiskLimits)
    execution_config: ExecutionConfig = Field(default_factory=ExecutionConfig)
    status: Status = "ACTIVE"

    _flatten = model_validator(mode="before")(classmethod(lambda cls, data: _flat_allocation(data)))


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
    def _one_per_account(self):
        seen: set[str] = set()
        for index, allocation in enumerate(self.allocations):
            if allocation.client_id in seen:
                raise ValueError(
                    f"allocations[{index}].client_id: {allocation.client_id} appears twice"
                )
            seen.add(allocation.client_id)
        return self


class AllocationUpdate(ApiModel):
    priority: Annotated[int, Field(ge=1, le=100)] | None = None
    allocation_config: AllocationConfig | None = None
    risk_limits: RiskLimits | None = None
    execution_config: ExecutionConfig | None = None
    status: Status | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one is a 409")
    client_id: str | None = Field(None, description="If sent, must be the path's")
    strategy_id: str | None = Field(None, description="If sent, must be the path's")

    _flatten = model_validator(mode="before")(classmethod(lambda cls, data: _flat_allocation(data)))


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
    broker: str
    mode: str
    performance_metrics: dict[
        str, Annotated[Decimal, PlainSerializer(_json_number, return_type=Union[int, float])]
    ]
    calculated_totals: CalculatedTotals
    created_at: Timestamp
    updated_at: Timestamp
    last_used: Timestamp | None = None
    version: int = 1


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------
Item = TypeVar("Item")


class ItemList(BaseModel, Generic[Item]):
    items: list[Item]
    next_token: str | None = Field(
        None, description="Pass as ?next_token= for the next page; null on the last"
    )


class BasketDetail(Basket):
    strategies: list[Strategy]


class StrategyDetail(Strategy):
    legs: list[Leg]
    allocations: list[Allocation]
