"""The configuration plane's entities, in the trader's words.

One set of models feeds request validation, the OpenAPI document and what is stored. Input models
(`*Create`, `*Update`, `*Input`) take what a trader may send; stored models add what the platform
owns (ids, timestamps, version, derived totals). Fields the platform owns are ignored when a client
sends them (a `user_id` in a body changes nothing); any other unknown field is an error naming it,
so that a misspelt `stop_los` is not silently dropped.

One module per entity; every name is importable from here.
"""

from shared_utils.domain.models.allocations import (
    AdvancedAllocationsRequest,
    Allocation,
    AllocationConfig,
    AllocationInput,
    AllocationUpdate,
    CalculatedTotals,
    ExecutionConfig,
    LegOverride,
    RiskLimits,
)
from shared_utils.domain.models.base import (
    MAX_ALLOCATIONS_PER_STRATEGY,
    MAX_LEGS_PER_STRATEGY,
    MAX_STRATEGIES_PER_BASKET,
    SERVER_OWNED_FIELDS,
    ApiModel,
    Money,
    Percent,
    Points,
    PositiveMoney,
    StoredModel,
)
from shared_utils.domain.models.baskets import Basket, BasketCreate, BasketUpdate
from shared_utils.domain.models.broker_accounts import BrokerAccount, BrokerAccountCreate
from shared_utils.domain.models.legs import (
    ENTRY_BY_ALIASES,
    Leg,
    LegInput,
    LegsCreate,
    LegSettings,
    LegUpdate,
    PositionSizing,
    StrikeSelection,
)
from shared_utils.domain.models.responses import BasketDetail, ItemList, StrategyDetail
from shared_utils.domain.models.strategies import (
    ExecutionSchedule,
    Strategy,
    StrategyCreate,
    StrategySettings,
    StrategyUpdate,
)

__all__ = [
    "ENTRY_BY_ALIASES",
    "MAX_ALLOCATIONS_PER_STRATEGY",
    "MAX_LEGS_PER_STRATEGY",
    "MAX_STRATEGIES_PER_BASKET",
    "SERVER_OWNED_FIELDS",
    "AdvancedAllocationsRequest",
    "Allocation",
    "AllocationConfig",
    "AllocationInput",
    "AllocationUpdate",
    "ApiModel",
    "Basket",
    "BasketCreate",
    "BasketDetail",
    "BasketUpdate",
    "BrokerAccount",
    "BrokerAccountCreate",
    "CalculatedTotals",
    "ExecutionConfig",
    "ExecutionSchedule",
    "ItemList",
    "Leg",
    "LegInput",
    "LegOverride",
    "LegSettings",
    "LegUpdate",
    "LegsCreate",
    "Money",
    "Percent",
    "Points",
    "PositionSizing",
    "PositiveMoney",
    "RiskLimits",
    "StoredModel",
    "Strategy",
    "StrategyCreate",
    "StrategyDetail",
    "StrategySettings",
    "StrategyUpdate",
    "StrikeSelection",
]
