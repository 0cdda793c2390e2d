"""The configuration plane as handlers, the local demo and tests get it: one service per entity,
all over one store and one strategy-aggregate write path."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from shared_utils.configuration.aggregates import StrategyAggregates
from shared_utils.configuration.allocations import Allocations
from shared_utils.configuration.baskets import Baskets
from shared_utils.configuration.broker_accounts import BrokerAccounts
from shared_utils.configuration.legs import Legs
from shared_utils.configuration.store import ConfigurationStore
from shared_utils.configuration.strategies import Strategies
from shared_utils.domain.clock import Clock
from shared_utils.domain.instruments import InstrumentCatalog, built_in_catalog


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ConfigurationPlane:
    broker_accounts: BrokerAccounts
    baskets: Baskets
    strategies: Strategies
    legs: Legs
    allocations: Allocations
    aggregates: StrategyAggregates

    @classmethod
    def build(
        cls,
        store: ConfigurationStore,
        clock: Clock,
        catalog: InstrumentCatalog | None = None,
        new_id: Callable[[], str] = _new_id,
    ) -> ConfigurationPlane:
        aggregates = StrategyAggregates(store, clock, catalog or built_in_catalog())
        return cls(
            broker_accounts=BrokerAccounts(store, clock),
            baskets=Baskets(store, aggregates, new_id),
            strategies=Strategies(store, aggregates, new_id),
            legs=Legs(aggregates),
            allocations=Allocations(store, aggregates),
            aggregates=aggregates,
        )
