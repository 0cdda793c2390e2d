"""Strategies: what to trade, when to enter and exit."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared_utils.domain.enums import EntityStatus, Product, StrategyCategory, Weekday
from shared_utils.domain.models.base import (
    ApiModel,
    Description,
    Metrics,
    Name,
    SessionTime,
    Status,
    StoredModel,
    Timestamp,
    Underlying,
    Weekdays,
    upper,
)

ProductName = Annotated[Product, BeforeValidator(upper)]
Category = Annotated[StrategyCategory, BeforeValidator(upper)]


class StrategySettings(ApiModel):
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
    is_intra_day: bool | None = Field(
        None, description="Derived from product; if sent it must agree"
    )
    category: Category | None = None
    status: Status = EntityStatus.ACTIVE

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
    basket_id: str | None = Field(None, description="Omit for a standalone strategy")


class StrategyUpdate(ApiModel):
    strategy_name: Name | None = None
    description: Description | None = None
    entry_time: SessionTime | None = None
    exit_time: SessionTime | None = None
    entry_days: Weekdays | None = None
    exit_days: Weekdays | None = None
    product: ProductName | None = None
    underlying: Underlying | None = None
    is_intra_day: bool | None = None
    category: Category | None = None
    status: Status | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one is a 409")
    strategy_id: str | None = Field(None, description="If sent, must be the path's")
    basket_id: str | None = Field(
        None, description="If sent, must be the strategy's: strategies do not move between baskets"
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
