"""Allocations: which broker account trades which legs of a strategy, with how many lots. Each
change is a change of the strategy's aggregate, committed with its totals and compiled schedule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared_utils.configuration.aggregates import StrategyAggregates
from shared_utils.configuration.allocation_math import summary
from shared_utils.configuration.changes import changed
from shared_utils.configuration.conflicts import check_identity, check_version
from shared_utils.configuration.store import ConfigurationStore
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.domain.models import (
    MAX_ALLOCATIONS_PER_STRATEGY,
    Allocation,
    AllocationInput,
    AllocationUpdate,
)
from shared_utils.domain.validation import join, validate

ALLOCATION_METRICS = (
    "total_trades_executed",
    "success_rate",
    "average_execution_time",
    "total_pnl",
)


class Allocations:
    def __init__(self, store: ConfigurationStore, aggregates: StrategyAggregates):
        self.store, self.aggregates = store, aggregates

    def of_strategy(self, user_id: str, strategy_id: str) -> list[Allocation]:
        return sorted(
            self.aggregates.read_with_metrics(user_id, strategy_id).allocations.values(),
            key=lambda a: (a.priority, a.client_id),
        )

    def create(
        self,
        user_id: str,
        strategy_id: str,
        requests: list[AllocationInput],
        field_prefix: str = "allocations",
    ) -> list[Allocation]:
        """`field_prefix` names the body's list in error messages ("" when the body is one allocation)."""
        before = self.aggregates.read(user_id, strategy_id)
        if len(before.allocations) + len(requests) > MAX_ALLOCATIONS_PER_STRATEGY:
            raise InvalidInput.at(
                field_prefix or "client_id",
                f"a strategy has at most {MAX_ALLOCATIONS_PER_STRATEGY} broker allocations",
            )
        now = self.aggregates.now_iso
        created: dict[str, Allocation] = {}
        where: dict[str, str] = {}
        for index, request in enumerate(requests):
            prefix = f"{field_prefix}[{index}]" if field_prefix else ""
            where[request.client_id] = prefix
            if request.client_id in before.allocations:
                raise Conflict(
                    f"{join(prefix, 'client_id')}: strategy {strategy_id} already has an allocation to {request.client_id}; update it with PUT instead"
                )
            account = self.store.broker_account(user_id, request.client_id)
            if account is None:
                raise InvalidInput.at(
                    join(prefix, "client_id"),
                    f"{request.client_id} is not one of your broker accounts; register it at /options/broker-accounts first",
                )
            created[request.client_id] = Allocation(
                **request.model_dump(),
                strategy_id=strategy_id,
                broker=account.broker,
                mode=account.mode,
                performance_metrics=dict.fromkeys(ALLOCATION_METRICS, Decimal(0)),
                calculated_totals=self.aggregates.totals(
                    request.allocation_config, before.legs, prefix
                ),
                created_at=now,
                updated_at=now,
                version=1,
            )
        stored = self.aggregates.commit(
            user_id,
            before,
            allocations={**before.allocations, **created},
            new_allocations=set(created),
            where=where,
        )
        return [stored.allocations[r.client_id] for r in requests]

    def update(
        self, user_id: str, strategy_id: str, client_id: str, request: AllocationUpdate
    ) -> Allocation:
        before = self.aggregates.read(user_id, strategy_id)
        current = before.allocations.get(client_id)
        if current is None:
            raise NotFound(f"strategy {strategy_id} has no allocation to {client_id}")
        check_identity(request, client_id=client_id, strategy_id=strategy_id)
        check_version(request.version, current.version, f"allocation to {client_id}")
        merged = changed(current, request)
        merged.update(updated_at=self.aggregates.now_iso, version=current.version + 1)
        allocation = validate(Allocation, merged)
        stored = self.aggregates.commit(
            user_id,
            before,
            allocations={**before.allocations, client_id: allocation},
            where={client_id: ""},
        )
        return self.aggregates.allocations_with_metrics(user_id, stored)[client_id]

    def delete(self, user_id: str, strategy_id: str, client_id: str) -> None:
        before = self.aggregates.read(user_id, strategy_id)
        if client_id not in before.allocations:
            raise NotFound(f"strategy {strategy_id} has no allocation to {client_id}")
        allocations = {c: a for c, a in before.allocations.items() if c != client_id}
        self.aggregates.commit(
            user_id, before, allocations=allocations, deleted_allocations={client_id}
        )

    def summary(self, user_id: str, strategy_id: str) -> dict[str, Any]:
        aggregate = self.aggregates.read(user_id, strategy_id)
        strategy = aggregate.strategy
        return summary(
            strategy_id,
            strategy.underlying,
            self.aggregates.lot_size(strategy.underlying),
            aggregate.legs,
            aggregate.allocations.values(),
        )
