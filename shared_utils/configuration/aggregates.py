"""The strategy aggregate's one write path, shared by the services of strategies, legs and
allocations.

A strategy with its legs and allocations is one aggregate. Every change to it is committed in one
transaction that also bumps the strategy's version (so concurrent changes serialize: the loser gets
a Conflict), rewrites the allocations whose calculated totals moved, and rebuilds the compiled
schedule items that the engine reads at the entry and exit times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from shared_utils.configuration.allocation_math import AllocationRuleBroken, calculated_totals
from shared_utils.configuration.store import (
    AggregateChange,
    ConfigurationStore,
    Counts,
    StrategyAggregate,
)
from shared_utils.domain import performance
from shared_utils.domain.clock import Clock, ist_date, utc_iso
from shared_utils.domain.errors import InvalidInput, NotFound
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.domain.models import (
    Allocation,
    AllocationConfig,
    Basket,
    CalculatedTotals,
    Leg,
    Strategy,
)
from shared_utils.domain.validation import join


class StrategyAggregates:
    """Reads aggregates whole, and commits each change of one with everything that follows from it."""

    def __init__(self, store: ConfigurationStore, clock: Clock, catalog: InstrumentCatalog):
        self.store, self.clock, self.catalog = store, clock, catalog

    def read(self, user_id: str, strategy_id: str) -> StrategyAggregate:
        aggregate = self.store.aggregate(user_id, strategy_id)
        if aggregate is None:
            raise NotFound(f"strategy {strategy_id} not found")
        return aggregate

    def commit(
        self,
        user_id: str,
        before: StrategyAggregate,
        *,
        strategy: Strategy | None = None,
        legs: dict[int, Leg] | None = None,
        allocations: dict[str, Allocation] | None = None,
        new_legs: Iterable[int] = (),
        deleted_legs: Iterable[int] = (),
        new_allocations: Iterable[str] = (),
        deleted_allocations: Iterable[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> StrategyAggregate:
        """Write one change of the aggregate; returns the aggregate as stored.

        `where` names, by client id, where an allocation sits in the request body, so that one
        whose totals no longer add up is reported at the field the trader sent."""
        now = self.now_iso
        strategy = (strategy or before.strategy).model_copy(
            update={"updated_at": now, "version": before.strategy.version + 1}
        )
        legs = before.legs if legs is None else legs
        allocations = before.allocations if allocations is None else allocations
        where = where or {}

        # Every allocation's totals follow the legs; one that no longer adds up stops the change.
        refreshed: dict[str, Allocation] = {}
        for client_id, allocation in allocations.items():
            totals = self.totals(
                allocation.allocation_config,
                legs,
                where.get(client_id, f"allocations.{client_id}"),
            )
            allocation = allocation.model_copy(update={"calculated_totals": totals})
            stored = before.allocations.get(client_id)
            if stored is not None and allocation != stored and allocation.version == stored.version:
                # Changed as a consequence (a leg deleted, totals moved): a client's copy is now stale.
                allocation = allocation.model_copy(
                    update={"version": stored.version + 1, "updated_at": now}
                )
            refreshed[client_id] = allocation

        return self.store.commit(
            AggregateChange(
                user_id=user_id,
                before=before,
                after=StrategyAggregate(strategy, legs, refreshed),
                new_legs=frozenset(new_legs),
                deleted_legs=frozenset(deleted_legs),
                new_allocations=frozenset(new_allocations),
                deleted_allocations=frozenset(deleted_allocations),
            )
        )

    def totals(
        self, config: AllocationConfig, legs: Mapping[int, Leg], where: str
    ) -> CalculatedTotals:
        try:
            return calculated_totals(config, legs)
        except AllocationRuleBroken as broken:
            raise InvalidInput.at(join(where, broken.field_path), broken.message) from None

    # -- as a trader reads them --------------------------------------------------------------------
    def with_metrics(self, user_id: str, strategies: list[Strategy]) -> list[Strategy]:
        """Strategies as read: their performance metrics are what executions have added so far."""
        if not strategies:
            return strategies
        counted = self.store.strategy_counts(user_id, [s.strategy_id for s in strategies])
        return [
            s.model_copy(
                update={
                    "performance_metrics": performance.strategy_view(
                        counted.get(s.strategy_id, {}), s.performance_metrics
                    )
                }
            )
            for s in strategies
        ]

    def read_with_metrics(self, user_id: str, strategy_id: str) -> StrategyAggregate:
        """The aggregate as a trader reads it: the strategy's and every allocation's performance
        metrics are what executions have added so far."""
        found = self.store.aggregate_with_counts(user_id, strategy_id)
        if found is None:
            raise NotFound(f"strategy {strategy_id} not found")
        aggregate, own, by_account = found
        strategy = aggregate.strategy
        metrics = performance.strategy_view(own, strategy.performance_metrics)
        return StrategyAggregate(
            strategy.model_copy(update={"performance_metrics": metrics}),
            aggregate.legs,
            self._allocations_counted(aggregate, by_account),
            aggregate.compiled_schedule,
        )

    def allocations_with_metrics(
        self, user_id: str, aggregate: StrategyAggregate
    ) -> dict[str, Allocation]:
        counted = self.store.allocation_counts(user_id, aggregate.strategy.strategy_id)
        return self._allocations_counted(aggregate, counted)

    def _allocations_counted(
        self, aggregate: StrategyAggregate, counted: Mapping[str, Counts]
    ) -> dict[str, Allocation]:
        return {
            client_id: a.model_copy(
                update={
                    "performance_metrics": performance.allocation_view(
                        counted.get(client_id, {}), a.performance_metrics
                    )
                }
            )
            for client_id, a in aggregate.allocations.items()
        }

    def basket(self, user_id: str, basket_id: str) -> Basket:
        basket = self.store.basket(user_id, basket_id)
        if basket is None:
            raise NotFound(f"basket {basket_id} not found")
        return basket

    def lot_size(self, underlying: str) -> int:
        return self.catalog.get(underlying).lot_size_for_expiry(self.today)

    @property
    def now_iso(self) -> str:
        return utc_iso(self.clock.now())

    @property
    def today(self) -> date:
        today: date = ist_date(self.clock.now())
        return today
