"""Strategies: what to trade, when to enter and exit."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared_utils.domain.enums import EntityStatus, Product, StrategyCategory, Weekday
from shared_utils.domain.models.base import (
    WHOLE,
    ApiModel,
    Change,
    Description,
    EntityId,
    Flag,
    Metrics,
    Name,
    SessionTime,
    Status,
    StoredModel,
    Timestamp,
    Underlying,
    Version,
    Weekdays,
    upper,
)

ProductName = Annotated[Product, BeforeValidator(upper)]
Category = Annotated[StrategyCategory, BeforeValidator(upper)]
# Minutes: 0 enters only on time; 60 bounds it, since an entry an hour late trades another market.
GraceMinutes = Annotated[
    int,
    Field(
        ge=0,
        le=60,
        description="How many minutes late a missed entry may still be entered (0 to 60); later it is MISSED and never entered",
    ),
    WHOLE,  # after the bounds, so that the document shows them as minimum and maximum
]


class StrategySettings(ApiModel):
    null_clears = frozenset({"category"})
    derived_when_left_out = frozenset({"is_intra_day"})
    strategy_name: Name
    description: Description = ""
    entry_time: SessionTime = Field(description="IST, HH:MM, inside 09:15-15:30")
    exit_time: SessionTime = Field(description="IST, HH:MM, inside 09:15-15:30")
    entry_days: Weekdays
    exit_days: Weekdays
    product: ProductName = Field(
        description="NRML (positional) or MIS (intraday, squared off the same day)"
    )
    underlying: Underlying
    is_intra_day: Flag | None = Field(
        None, description="Derived from product; if sent it must agree"
    )
    category: Category | None = None
    status: Status = EntityStatus.ACTIVE
    entry_grace_minutes: GraceMinutes = 5

    @model_validator(mode="after")
    def _intraday_rules(self) -> Self:
        intraday = self.product is Product.MIS
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
    null_clears = frozenset({"category", "basket_id"})
    basket_id: EntityId | None = Field(None, description="Omit for a standalone strategy")


class StrategyUpdate(ApiModel):
    null_clears = frozenset({"category", "basket_id"})
    strategy_name: Change[Name] = None
    description: Change[Description] = Field(None, description='"" clears it')
    entry_time: Change[SessionTime] = None
    exit_time: Change[SessionTime] = None
    entry_days: Change[Weekdays] = None
    exit_days: Change[Weekdays] = None
    product: Change[ProductName] = None
    underlying: Change[Underlying] = None
    is_intra_day: Change[Flag] = None
    category: Category | None = Field(None, description="null clears it")
    status: Change[Status] = None
    entry_grace_minutes: Change[GraceMinutes] = None
    version: Change[Version] = None
    strategy_id: Change[EntityId] = Field(None, description="If sent, must be the path's")
    basket_id: EntityId | None = Field(
        None,
        description="If sent, must be the strategy's (null for a standalone one): strategies do not move between baskets",
    )


class ExecutionSchedule(BaseModel):
    entry_time: str
    exit_time: str
    entry_days: list[Weekday]
    exit_days: list[Weekday]
    timezone: Literal["IST"] = "IST"


class Strategy(StrategySettings, StoredModel):
    model_config = ConfigDict(extra="ignore")
    strategy_id: str
    basket_id: str | None = None
    created_by_type: Literal["USER"] = "USER"
    execution_schedule: ExecutionSchedule
    performance_metrics: Metrics
    created_at: Timestamp
    updated_at: Timestamp
    version: int
