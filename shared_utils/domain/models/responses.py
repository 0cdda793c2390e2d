"""What the API answers with beyond the entities themselves: pages, and entities with their parts."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from shared_utils.domain.models.allocations import Allocation
from shared_utils.domain.models.baskets import Basket
from shared_utils.domain.models.legs import Leg
from shared_utils.domain.models.strategies import Strategy

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
