"""Strategies: what to trade, when to enter and exit; alone or in a basket."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from shared_utils.configuration.aggregates import StrategyAggregates
from shared_utils.configuration.changes import changed
from shared_utils.configuration.conflicts import check_identity, check_version
from shared_utils.configuration.store import ConfigurationStore, StrategyAggregate
from shared_utils.domain.errors import InvalidInput, NotFound
from shared_utils.domain.models import (
    MAX_STRATEGIES_PER_BASKET,
    Basket,
    ExecutionSchedule,
    Strategy,
    StrategyCreate,
    StrategyUpdate,
)
from shared_utils.domain.validation import validate

STRATEGY_METRICS = (
    "total_executions",
    "successful_executions",
    "success_rate",
    "total_pnl",
    "average_execution_time",
)


def execution_schedule(data: Mapping[str, Any]) -> ExecutionSchedule:
    return ExecutionSchedule(
        entry_time=data["entry_time"],
        exit_time=data["exit_time"],
        entry_days=data["entry_days"],
        exit_days=data["exit_days"],
    )


class Strategies:
    def __init__(
        self,
        store: ConfigurationStore,
        aggregates: StrategyAggregates,
        new_id: Callable[[], str],
    ):
        self.store, self.aggregates, self.new_id = store, aggregates, new_id

    def page(
        self,
        user_id: str,
        basket_id: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Strategy], str | None]:
        if basket_id:
            self.aggregates.basket(user_id, basket_id)
        strategies, token = self.store.strategies(user_id, basket_id or None, limit, next_token)
        return self.aggregates.with_metrics(user_id, strategies), token

    def create(
        self, user_id: str, request: StrategyCreate, basket_id: str | None = None
    ) -> Strategy:
        if basket_id and request.basket_id and request.basket_id != basket_id:
            raise InvalidInput.at(
                "basket_id",
                f"the body names basket {request.basket_id} but the path names {basket_id}",
            )
        from_body = basket_id is None and request.basket_id is not None
        basket_id = basket_id or request.basket_id
        basket = self._basket_with_room(user_id, basket_id, from_body) if basket_id else None
        now = self.aggregates.now_iso
        data = request.model_dump(exclude={"basket_id"})
        strategy = Strategy(
            **data,
            strategy_id=self.new_id(),
            basket_id=basket_id,
            execution_schedule=execution_schedule(data),
            performance_metrics=dict.fromkeys(STRATEGY_METRICS, Decimal(0)),
            created_at=now,
            updated_at=now,
            version=1,
        )
        self.store.add_strategy(user_id, strategy, basket)
        return strategy

    def get(self, user_id: str, strategy_id: str) -> StrategyAggregate:
        return self.aggregates.read_with_metrics(user_id, strategy_id)

    def update(self, user_id: str, strategy_id: str, request: StrategyUpdate) -> Strategy:
        before = self.aggregates.read(user_id, strategy_id)
        current = before.strategy
        check_identity(request, strategy_id=strategy_id, basket_id=current.basket_id)
        check_version(request.version, current.version, f"strategy {strategy_id}")
        merged = changed(current, request)
        sent = request.model_fields_set
        if "product" in sent and "is_intra_day" not in sent:
            merged["is_intra_day"] = None  # derived again from the new product
        merged["execution_schedule"] = execution_schedule(merged)
        strategy = validate(Strategy, merged)
        if strategy.underlying != current.underlying and before.legs:
            raise InvalidInput.at(
                "underlying",
                f"the strategy's legs trade {current.underlying}; change or delete them before changing the underlying",
            )
        stored = self.aggregates.commit(user_id, before, strategy=strategy)
        return self.aggregates.with_metrics(user_id, [stored.strategy])[0]

    def delete(self, user_id: str, strategy_id: str) -> None:
        self.store.remove_strategy(user_id, self.aggregates.read(user_id, strategy_id))

    def _basket_with_room(self, user_id: str, basket_id: str, named_in_body: bool) -> Basket:
        try:
            basket = self.aggregates.basket(user_id, basket_id)
        except NotFound:
            if named_in_body:
                raise InvalidInput.at("basket_id", f"basket {basket_id} does not exist") from None
            raise
        if basket.strategy_count >= MAX_STRATEGIES_PER_BASKET:
            raise InvalidInput.at(
                "basket_id",
                f"basket {basket_id} already holds {MAX_STRATEGIES_PER_BASKET} strategies, the most a basket may hold",
            )
        return basket
