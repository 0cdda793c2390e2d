"""Baskets: a trader's containers of strategies, with the capital they may deploy."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from shared_utils.domain.enums import EntityStatus
from shared_utils.domain.models.base import (
    ApiModel,
    Change,
    Description,
    EntityId,
    Metrics,
    Money,
    Name,
    Percent,
    PositiveMoney,
    Status,
    StoredModel,
    Timestamp,
    Version,
)


class BasketCreate(ApiModel):
    null_clears = frozenset({"creator_name"})
    derived_when_left_out = frozenset({"current_capital"})
    basket_name: Name
    description: Description = ""
    initial_capital: PositiveMoney
    deployable_percentage: Percent = Field(
        Decimal(100), description="Share of capital strategies may use"
    )
    current_capital: Money | None = Field(None, description="Defaults to initial_capital")
    creator_name: Annotated[str, Field(max_length=100)] | None = None
    status: Status = EntityStatus.ACTIVE


class BasketUpdate(ApiModel):
    null_clears = frozenset({"creator_name"})
    basket_name: Change[Name] = None
    description: Change[Description] = Field(None, description='"" clears it')
    initial_capital: Change[PositiveMoney] = None
    deployable_percentage: Change[Percent] = None
    current_capital: Change[Money] = None
    creator_name: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="null clears it"
    )
    status: Change[Status] = None
    version: Change[Version] = None
    basket_id: Change[EntityId] = Field(None, description="If sent, must be the path's")


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
    performance_metrics: Metrics
    strategy_count: int = 0
    status: Status
    created_at: Timestamp
    updated_at: Timestamp
    version: int
