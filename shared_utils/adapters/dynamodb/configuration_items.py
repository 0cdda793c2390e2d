"""The configuration plane's entities as table items, and back.

Every entity is stored under the user's partition with its kind's sort key, an `entity_type`, and
its fields as they are. A strategy also holds `schedule_keys` (the compiled schedule's items
written with that version, so the next change knows which ones to remove) and, since issue 12, the
leg numbers and client ids of its legs and allocations (`aggregate_legs`, `aggregate_allocations`:
every change of the aggregate rewrites the strategy item in the same transaction as them, so the
lists cannot drift), so that a strategy's detail is a GetItem and one BatchGetItem of exactly its
items, not a query per kind; an allocation sits in
GSI1 (a strategy's allocations in priority order); a broker account holds `allocation_count` (how
many allocations trade on it, so it cannot be deleted from under them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from shared_utils.adapters.dynamodb import keys
from shared_utils.configuration.store import StoredStrategy, StrategyAggregate
from shared_utils.domain.models import Allocation, Basket, BrokerAccount, Leg, Strategy

SCHEDULE_KEYS = "schedule_keys"
ALLOCATION_COUNT = "allocation_count"
AGGREGATE_LEGS, AGGREGATE_ALLOCATIONS = "aggregate_legs", "aggregate_allocations"


def item(user_id: str, sort_key: str, model: BaseModel, entity_type: str) -> dict[str, Any]:
    return {
        keys.PK: user_id,
        keys.SK: sort_key,
        "entity_type": entity_type,
        **model.model_dump(mode="python"),
    }


def broker_account_item(user_id: str, account: BrokerAccount) -> dict[str, Any]:
    stored = item(
        user_id, keys.broker_account(account.client_id), account, entity_type="BROKER_ACCOUNT"
    )
    stored[ALLOCATION_COUNT] = 0
    return stored


def basket_item(user_id: str, basket: Basket) -> dict[str, Any]:
    return item(user_id, keys.basket(basket.basket_id), basket, entity_type="BASKET")


def strategy_item(
    user_id: str,
    strategy: Strategy,
    schedule_keys: tuple[str, ...] | list[str],
    legs: Mapping[int, Leg],
    allocations: Mapping[str, Allocation],
) -> dict[str, Any]:
    stored = item(user_id, keys.strategy(strategy.strategy_id), strategy, entity_type="STRATEGY")
    stored[SCHEDULE_KEYS] = list(schedule_keys)
    stored[AGGREGATE_LEGS] = sorted(legs)
    stored[AGGREGATE_ALLOCATIONS] = sorted(allocations)
    return stored


def leg_item(user_id: str, leg: Leg) -> dict[str, Any]:
    return item(user_id, keys.leg(leg.strategy_id, leg.leg_no), leg, entity_type="LEG")


def allocation_item(user_id: str, allocation: Allocation) -> dict[str, Any]:
    stored = item(
        user_id,
        keys.allocation(allocation.strategy_id, allocation.client_id),
        allocation,
        entity_type="ALLOCATION",
    )
    stored.update(
        keys.allocation_index(allocation.strategy_id, allocation.priority, allocation.client_id)
    )
    return stored


def stored_strategy(raw: dict[str, Any]) -> StoredStrategy:
    return StoredStrategy(Strategy.model_validate(raw), tuple(raw.get(SCHEDULE_KEYS, [])))


def members(raw_strategy: dict[str, Any]) -> tuple[list[str], list[str]] | None:
    """The sort keys of the strategy's legs and of its allocations, as its item lists them; None
    for an item written before it listed them (they are then found by querying)."""
    if AGGREGATE_LEGS not in raw_strategy or AGGREGATE_ALLOCATIONS not in raw_strategy:
        return None
    strategy_id = raw_strategy["strategy_id"]
    return (
        [keys.leg(strategy_id, int(leg_no)) for leg_no in raw_strategy[AGGREGATE_LEGS]],
        [keys.allocation(strategy_id, client) for client in raw_strategy[AGGREGATE_ALLOCATIONS]],
    )


def aggregate(
    raw_strategy: dict[str, Any],
    raw_legs: list[dict[str, Any]],
    raw_allocations: list[dict[str, Any]],
) -> StrategyAggregate:
    return StrategyAggregate(
        strategy=Strategy.model_validate(raw_strategy),
        legs={int(raw["leg_no"]): Leg.model_validate(raw) for raw in raw_legs},
        allocations={raw["client_id"]: Allocation.model_validate(raw) for raw in raw_allocations},
        compiled_schedule=tuple(raw_strategy.get(SCHEDULE_KEYS, [])),
    )
