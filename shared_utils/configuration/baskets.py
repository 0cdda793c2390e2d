"""Baskets: a trader's containers of strategies, with the capital they may deploy."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from shared_utils.configuration.aggregates import StrategyAggregates
from shared_utils.configuration.changes import changed
from shared_utils.configuration.conflicts import (
    check_identity,
    check_version,
)
from shared_utils.configuration.store import ConfigurationStore
from shared_utils.domain.enums import EntityStatus
from shared_utils.domain.errors import Conflict
from shared_utils.domain.models import Basket, BasketCreate, BasketUpdate, Strategy
from shared_utils.domain.validation import validate

BASKET_METRICS = (
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "monthly_return",
    "volatility",
)


def deployable(capital: Decimal, percentage: Decimal) -> Decimal:
    return (capital * percentage / 100).quantize(Decimal("0.01"))


class Baskets:
    def __init__(
        self,
        store: ConfigurationStore,
        aggregates: StrategyAggregates,
        new_id: Callable[[], str],
    ):
        self.store, self.aggregates, self.new_id = store, aggregates, new_id

    def page(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[Basket], str | None]:
        return self.store.baskets(user_id, limit, next_token)

    def create(
        self, user_id: str, request: BasketCreate, creator_name: str | None = None
    ) -> Basket:
        now = self.aggregates.now_iso
        data = request.model_dump()
        data["current_capital"] = (
            request.current_capital
            if request.current_capital is not None
            else request.initial_capital
        )
        data["creator_name"] = request.creator_name or creator_name
        basket = Basket(
            **data,
            basket_id=self.new_id(),
            deployable_capital=deployable(data["current_capital"], request.deployable_percentage),
            creator_user_id=user_id,
            performance_metrics=dict.fromkeys(BASKET_METRICS, Decimal(0)),
            created_at=now,
            updated_at=now,
            version=1,
        )
        self.store.add_basket(user_id, basket)
        return basket

    def get(self, user_id: str, basket_id: str) -> tuple[Basket, list[Strategy]]:
        basket = self.aggregates.basket(user_id, basket_id)
        strategies = [
            stored.strategy for stored in self.store.strategies_in_basket(user_id, basket_id)
        ]
        return basket, self.aggregates.with_metrics(user_id, strategies)

    def update(self, user_id: str, basket_id: str, request: BasketUpdate) -> Basket:
        current = self.aggregates.basket(user_id, basket_id)
        check_identity(request, basket_id=basket_id)
        check_version(request.version, current.version, f"basket {basket_id}")
        merged = changed(current, request)
        merged["deployable_capital"] = deployable(
            merged["current_capital"], merged["deployable_percentage"]
        )
        merged.update(updated_at=self.aggregates.now_iso, version=current.version + 1)
        basket = validate(Basket, merged)
        self.store.replace_basket(user_id, basket, current.version)
        return basket

    def delete(self, user_id: str, basket_id: str) -> None:
        basket = self.aggregates.basket(user_id, basket_id)
        strategies = self.store.strategies_in_basket(user_id, basket_id)
        active = [s.strategy for s in strategies if s.strategy.status == EntityStatus.ACTIVE]
        if active:
            names = ", ".join(f"{s.strategy_name} ({s.strategy_id})" for s in active)
            raise Conflict(
                f"basket {basket_id} still has active strategies: {names}; pause, archive or delete them first"
            )
        # Paused and archived strategies outlive their basket as standalone strategies.
        now = self.aggregates.now_iso
        detached = [
            (
                stored,
                stored.strategy.model_copy(
                    update={
                        "basket_id": None,
                        "updated_at": now,
                        "version": stored.strategy.version + 1,
                    }
                ),
            )
            for stored in strategies
        ]
        self.store.remove_basket(user_id, basket, detached)
