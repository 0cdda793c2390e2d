"""The configuration plane: baskets, strategies, legs, allocations and broker accounts.

A strategy with its legs and allocations is one aggregate. Every change to it is committed in one
transaction that also bumps the strategy's version (so concurrent changes serialize: the loser gets
a Conflict), rewrites the allocations whose calculated totals moved, and rebuilds the compiled
schedule items that the engine reads at the entry and exit times.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.metrics import counts_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.configuration.allocation_math import (
    AllocationRuleBroken,
    calculated_totals,
    summary,
)
from shared_utils.configuration.schedule import compile_schedule
from shared_utils.domain import performance
from shared_utils.domain.clock import Clock, ist_date, utc_iso
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.domain.instruments import InstrumentCatalog, built_in_catalog
from shared_utils.domain.models import (
    MAX_ALLOCATIONS_PER_STRATEGY,
    MAX_LEGS_PER_STRATEGY,
    MAX_STRATEGIES_PER_BASKET,
    Allocation,
    AllocationInput,
    AllocationUpdate,
    Basket,
    BasketCreate,
    BasketUpdate,
    BrokerAccount,
    BrokerAccountCreate,
    ExecutionSchedule,
    Leg,
    LegInput,
    LegUpdate,
    Strategy,
    StrategyCreate,
    StrategyUpdate,
)
from shared_utils.domain.validation import join as _join
from shared_utils.domain.validation import validate as _validate

STRATEGY_METRICS = (
    "total_executions",
    "successful_executions",
    "success_rate",
    "total_pnl",
    "average_execution_time",
)
BASKET_METRICS = (
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "monthly_return",
    "volatility",
)
ALLOCATION_METRICS = (
    "total_trades_executed",
    "success_rate",
    "average_execution_time",
    "total_pnl",
)


IDENTITY_FIELDS = {"basket_id", "strategy_id", "leg_no", "client_id", "version"}


def _check_identity(request, **path_values) -> None:
    """An update body may carry the entity's identity (a GET body sent back); it must be this one."""
    for name, expected in path_values.items():
        sent = getattr(request, name, None)
        if sent is not None and sent != expected:
            raise InvalidInput.at(name, f"the body says {sent!r} but this is {expected!r}")


def _metrics(names: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


@dataclass
class StrategyAggregate:
    strategy: Strategy
    legs: dict[int, Leg]
    allocations: dict[str, Allocation]
    schedule_keys: list[str] = field(default_factory=list)


class ConfigurationService:
    def __init__(
        self,
        repository: ConfigurationRepository,
        clock: Clock,
        catalog: InstrumentCatalog | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ):
        self.repository = repository
        self.clock = clock
        self.catalog = catalog or built_in_catalog()
        self.new_id = new_id

    # ==========================================================================================
    # Broker accounts
    # ==========================================================================================
    def list_broker_accounts(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ):
        items, token = self.repository.query_prefix(
            user_id, keys.broker_account(""), limit=limit, next_token=next_token
        )
        return [BrokerAccount.model_validate(item) for item in items], token

    def create_broker_account(self, user_id: str, request: BrokerAccountCreate) -> BrokerAccount:
        now = utc_iso(self.clock.now())
        account = BrokerAccount(**request.model_dump(), created_at=now, updated_at=now, version=1)
        item = self._item(
            user_id, keys.broker_account(account.client_id), account, entity_type="BROKER_ACCOUNT"
        )
        item["allocation_count"] = 0
        self.repository.commit(
            [
                db.put_new(
                    item, Conflict(f"broker account {account.client_id} is already registered")
                )
            ]
        )
        return account

    def delete_broker_account(self, user_id: str, client_id: str) -> None:
        item = self.repository.get(user_id, keys.broker_account(client_id))
        if item is None:
            raise NotFound(f"broker account {client_id} not found")
        in_use = Conflict(
            f"broker account {client_id} is allocated to strategies; delete those allocations first"
        )
        if item.get("allocation_count", 0):
            raise in_use
        self.repository.commit(
            [
                db.Write(
                    "Delete",
                    {keys.PK: user_id, keys.SK: keys.broker_account(client_id)},
                    condition="attribute_exists(sort_key) AND allocation_count = :none",
                    values={":none": 0},
                    on_condition_failure=in_use,
                )
            ]
        )

    # ==========================================================================================
    # Baskets
    # ==========================================================================================
    def list_baskets(self, user_id: str, limit: int | None = None, next_token: str | None = None):
        items, token = self.repository.query_prefix(
            user_id, keys.basket(""), limit=limit, next_token=next_token
        )
        return [Basket.model_validate(item) for item in items], token

    def create_basket(
        self, user_id: str, request: BasketCreate, creator_name: str | None = None
    ) -> Basket:
        now = utc_iso(self.clock.now())
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
            deployable_capital=_deployable(data["current_capital"], request.deployable_percentage),
            creator_user_id=user_id,
            performance_metrics=_metrics(BASKET_METRICS),
            created_at=now,
            updated_at=now,
            version=1,
        )
        item = self._item(user_id, keys.basket(basket.basket_id), basket, entity_type="BASKET")
        self.repository.commit([db.put_new(item, Conflict("basket id collision; retry"))])
        return basket

    def get_basket(self, user_id: str, basket_id: str) -> tuple[Basket, list[Strategy]]:
        basket = self._basket(user_id, basket_id)
        return basket, self._with_metrics(user_id, self._strategies_in_basket(user_id, basket_id))

    def update_basket(self, user_id: str, basket_id: str, request: BasketUpdate) -> Basket:
        current = self._basket(user_id, basket_id)
        _check_identity(request, basket_id=basket_id)
        self._check_version(request.version, current.version, f"basket {basket_id}")
        patch = request.model_dump(exclude_unset=True, exclude=IDENTITY_FIELDS)
        merged = current.model_dump() | patch
        merged["deployable_capital"] = _deployable(
            merged["current_capital"], merged["deployable_percentage"]
        )
        merged.update(updated_at=utc_iso(self.clock.now()), version=current.version + 1)
        basket = _validate(Basket, merged)
        item = self._item(user_id, keys.basket(basket_id), basket, entity_type="BASKET")
        self.repository.commit(
            [db.put_versioned(item, current.version, self._stale(f"basket {basket_id}"))]
        )
        return basket

    def delete_basket(self, user_id: str, basket_id: str) -> None:
        basket = self._basket(user_id, basket_id)
        strategies = self._strategies_in_basket(user_id, basket_id)
        active = [s for s in strategies if s.status == "ACTIVE"]
        if active:
            names = ", ".join(f"{s.strategy_name} ({s.strategy_id})" for s in active)
            raise Conflict(
                f"basket {basket_id} still has active strategies: {names}; pause, archive or delete them first"
            )
        writes = [
            db.delete_versioned(
                user_id, keys.basket(basket_id), basket.version, self._stale(f"basket {basket_id}")
            )
        ]
        # Paused and archived strategies outlive their basket as standalone strategies.
        now = utc_iso(self.clock.now())
        for strategy, schedule_keys in self._strategies_in_basket(
            user_id, basket_id, with_schedule_keys=True
        ):
            detached = strategy.model_copy(
                update={"basket_id": None, "updated_at": now, "version": strategy.version + 1}
            )
            item = self._strategy_item(user_id, detached, schedule_keys)
            writes.append(
                db.put_versioned(
                    item, strategy.version, self._stale(f"strategy {strategy.strategy_id}")
                )
            )
        self.repository.commit(writes)

    # ==========================================================================================
    # Strategies
    # ==========================================================================================
    def list_strategies(
        self,
        user_id: str,
        basket_id: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ):
        filters = {"basket_id": basket_id} if basket_id else None
        if basket_id:
            self._basket(user_id, basket_id)
        items, token = self.repository.query_prefix(
            user_id, keys.strategy(""), limit=limit, next_token=next_token, filters=filters
        )
        return self._with_metrics(user_id, [Strategy.model_validate(item) for item in items]), token

    def create_strategy(
        self, user_id: str, request: StrategyCreate, basket_id: str | None = None
    ) -> Strategy:
        if basket_id and request.basket_id and request.basket_id != basket_id:
            raise InvalidInput.at(
                "basket_id",
                f"the body names basket {request.basket_id} but the path names {basket_id}",
            )
        from_body = basket_id is None and request.basket_id is not None
        basket_id = basket_id or request.basket_id
        writes = []
        if basket_id:
            try:
                basket = self._basket(user_id, basket_id)
            except NotFound:
                if from_body:
                    raise InvalidInput.at(
                        "basket_id", f"basket {basket_id} does not exist"
                    ) from None
                raise
            if basket.strategy_count >= MAX_STRATEGIES_PER_BASKET:
                raise InvalidInput.at(
                    "basket_id",
                    f"basket {basket_id} already holds {MAX_STRATEGIES_PER_BASKET} strategies, the most a basket may hold",
                )
            writes.append(
                db.update(
                    user_id,
                    keys.basket(basket_id),
                    "SET strategy_count = strategy_count + :one, #version = #version + :one",
                    "#version = :v AND strategy_count < :max",
                    self._stale(f"basket {basket_id}"),
                    names={"#version": "version"},
                    values={":one": 1, ":v": basket.version, ":max": MAX_STRATEGIES_PER_BASKET},
                )
            )
        now = utc_iso(self.clock.now())
        data = request.model_dump(exclude={"basket_id"})
        strategy = Strategy(
            **data,
            strategy_id=self.new_id(),
            basket_id=basket_id,
            execution_schedule=_execution_schedule(data),
            performance_metrics=_metrics(STRATEGY_METRICS),
            created_at=now,
            updated_at=now,
            version=1,
        )
        writes.append(
            db.put_new(
                self._strategy_item(user_id, strategy, []), Conflict("strategy id collision; retry")
            )
        )
        self.repository.commit(writes)
        return strategy

    def get_strategy(self, user_id: str, strategy_id: str) -> StrategyAggregate:
        aggregate = self._aggregate(user_id, strategy_id)
        (strategy,) = self._with_metrics(user_id, [aggregate.strategy])
        return StrategyAggregate(
            strategy,
            aggregate.legs,
            self._allocations_with_metrics(user_id, aggregate),
            aggregate.schedule_keys,
        )

    def update_strategy(self, user_id: str, strategy_id: str, request: StrategyUpdate) -> Strategy:
        before = self._aggregate(user_id, strategy_id)
        current = before.strategy
        _check_identity(request, strategy_id=strategy_id, basket_id=current.basket_id)
        self._check_version(request.version, current.version, f"strategy {strategy_id}")
        patch = request.model_dump(exclude_unset=True, exclude=IDENTITY_FIELDS)
        merged = current.model_dump() | patch
        if "product" in patch and "is_intra_day" not in patch:
            merged["is_intra_day"] = None  # derived again from the new product
        merged["execution_schedule"] = _execution_schedule(merged)
        strategy = _validate(Strategy, merged)
        if strategy.underlying != current.underlying and before.legs:
            raise InvalidInput.at(
                "underlying",
                f"the strategy's legs trade {current.underlying}; change or delete them before changing the underlying",
            )
        return self._with_metrics(
            user_id, [self._commit(user_id, before, strategy=strategy).strategy]
        )[0]

    def delete_strategy(self, user_id: str, strategy_id: str) -> None:
        before = self._aggregate(user_id, strategy_id)
        strategy = before.strategy
        writes = [
            db.delete_versioned(
                user_id,
                keys.strategy(strategy_id),
                strategy.version,
                self._stale(f"strategy {strategy_id}"),
            )
        ]
        writes += [db.delete(user_id, keys.leg(strategy_id, leg_no)) for leg_no in before.legs]
        for client_id in before.allocations:
            writes.append(db.delete(user_id, keys.allocation(strategy_id, client_id)))
            writes.append(self._count_allocation(user_id, client_id, -1))
        writes += [db.delete(user_id, sort_key) for sort_key in before.schedule_keys]
        if strategy.basket_id:
            writes.append(
                db.update(
                    user_id,
                    keys.basket(strategy.basket_id),
                    "SET strategy_count = strategy_count - :one, #version = #version + :one",
                    "attribute_exists(sort_key)",
                    Conflict(f"basket {strategy.basket_id} changed; retry"),
                    names={"#version": "version"},
                    values={":one": 1},
                )
            )
        self.repository.commit(writes)

    # ==========================================================================================
    # Legs
    # ==========================================================================================
    def list_legs(self, user_id: str, strategy_id: str) -> list[Leg]:
        aggregate = self._aggregate(user_id, strategy_id)
        return [leg for _, leg in sorted(aggregate.legs.items())]

    def add_legs(self, user_id: str, strategy_id: str, legs: list[LegInput]) -> list[Leg]:
        before = self._aggregate(user_id, strategy_id)
        now = self._now_iso
        for index, leg in enumerate(legs):
            if leg.leg_no in before.legs:
                raise Conflict(
                    f"legs[{index}].leg_no: leg {leg.leg_no} already exists in this strategy; update it with PUT instead",
                    [
                        {
                            "field": f"legs[{index}].leg_no",
                            "message": f"leg {leg.leg_no} already exists",
                        }
                    ],
                )
        if len(before.legs) + len(legs) > MAX_LEGS_PER_STRATEGY:
            raise InvalidInput.at(
                "legs",
                f"a strategy has at most {MAX_LEGS_PER_STRATEGY} legs; it has {len(before.legs)} and {len(legs)} were sent",
            )
        new_legs = {}
        for index, leg in enumerate(legs):
            data = leg.model_dump()
            data["underlying"] = self._leg_underlying(
                leg.underlying, before.strategy, f"legs[{index}].underlying"
            )
            stored = Leg(**data, strategy_id=strategy_id, created_at=now, updated_at=now, version=1)
            self._check_expiry_available(stored, f"legs[{index}]")
            new_legs[stored.leg_no] = stored
        self._commit(user_id, before, legs={**before.legs, **new_legs}, new_legs=set(new_legs))
        return [leg for _, leg in sorted(new_legs.items())]

    def update_leg(self, user_id: str, strategy_id: str, leg_no: int, request: LegUpdate) -> Leg:
        before = self._aggregate(user_id, strategy_id)
        current = self._leg(before, leg_no)
        _check_identity(request, leg_no=leg_no, strategy_id=strategy_id)
        self._check_version(request.version, current.version, f"leg {leg_no}")
        patch = request.model_dump(exclude_unset=True, exclude=IDENTITY_FIELDS)
        merged = current.model_dump() | patch
        if (
            "entry_by" in patch
            and "strike_selection_config" not in patch
            and patch["entry_by"] != current.entry_by
        ):
            merged["strike_selection_config"] = None  # a new method starts from its defaults
        if "strike_selection_config" in patch and "entry_by" not in patch:
            merged["entry_by"] = None
        if "transaction_type" in patch and "category" not in patch and current.category != "SPREAD":
            merged["category"] = None
        merged["underlying"] = self._leg_underlying(
            merged.get("underlying"), before.strategy, "underlying"
        )
        merged.update(updated_at=self._now_iso, version=current.version + 1)
        leg = _validate(Leg, merged)
        self._check_expiry_available(leg, "")
        self._commit(user_id, before, legs={**before.legs, leg_no: leg})
        return leg

    def delete_leg(self, user_id: str, strategy_id: str, leg_no: int) -> None:
        before = self._aggregate(user_id, strategy_id)
        self._leg(before, leg_no)
        allocations = dict(before.allocations)
        for client_id, allocation in before.allocations.items():
            overrides = allocation.allocation_config.leg_overrides
            if overrides and str(leg_no) in overrides:
                remaining = {k: v for k, v in overrides.items() if k != str(leg_no)}
                if not remaining:
                    raise Conflict(
                        f"the allocation to {client_id} trades only leg {leg_no}; change or delete that allocation first"
                    )
                config = allocation.allocation_config.model_copy(
                    update={"leg_overrides": remaining}
                )
                allocations[client_id] = allocation.model_copy(update={"allocation_config": config})
        legs = {n: leg for n, leg in before.legs.items() if n != leg_no}
        self._commit(user_id, before, legs=legs, allocations=allocations, deleted_legs={leg_no})

    # ==========================================================================================
    # Allocations
    # ==========================================================================================
    def list_allocations(self, user_id: str, strategy_id: str) -> list[Allocation]:
        aggregate = self._aggregate(user_id, strategy_id)
        return sorted(
            self._allocations_with_metrics(user_id, aggregate).values(),
            key=lambda a: (a.priority, a.client_id),
        )

    def create_allocations(
        self,
        user_id: str,
        strategy_id: str,
        requests: list[AllocationInput],
        field_prefix: str = "allocations",
    ) -> list[Allocation]:
        """`field_prefix` names the body's list in error messages ("" when the body is one allocation)."""
        before = self._aggregate(user_id, strategy_id)
        if len(before.allocations) + len(requests) > MAX_ALLOCATIONS_PER_STRATEGY:
            raise InvalidInput.at(
                field_prefix or "client_id",
                f"a strategy has at most {MAX_ALLOCATIONS_PER_STRATEGY} broker allocations",
            )
        now = self._now_iso
        created: dict[str, Allocation] = {}
        where: dict[str, str] = {}
        for index, request in enumerate(requests):
            prefix = f"{field_prefix}[{index}]" if field_prefix else ""
            where[request.client_id] = prefix
            if request.client_id in before.allocations:
                raise Conflict(
                    f"{_join(prefix, 'client_id')}: strategy {strategy_id} already has an allocation to {request.client_id}; update it with PUT instead"
                )
            account = self.repository.get(user_id, keys.broker_account(request.client_id))
            if account is None:
                raise InvalidInput.at(
                    _join(prefix, "client_id"),
                    f"{request.client_id} is not one of your broker accounts; register it at /options/broker-accounts first",
                )
            created[request.client_id] = Allocation(
                **request.model_dump(),
                strategy_id=strategy_id,
                broker=account["broker"],
                mode=account["mode"],
                performance_metrics=_metrics(ALLOCATION_METRICS),
                calculated_totals=self._totals(
                    request.allocation_config, before.legs, before.strategy, prefix
                ),
                created_at=now,
                updated_at=now,
                version=1,
            )
        stored = self._commit(
            user_id,
            before,
            allocations={**before.allocations, **created},
            new_allocations=set(created),
            where=where,
        )
        return [stored.allocations[r.client_id] for r in requests]

    def update_allocation(
        self, user_id: str, strategy_id: str, client_id: str, request: AllocationUpdate
    ) -> Allocation:
        before = self._aggregate(user_id, strategy_id)
        current = before.allocations.get(client_id)
        if current is None:
            raise NotFound(f"strategy {strategy_id} has no allocation to {client_id}")
        _check_identity(request, client_id=client_id, strategy_id=strategy_id)
        self._check_version(request.version, current.version, f"allocation to {client_id}")
        patch = request.model_dump(exclude_unset=True, exclude=IDENTITY_FIELDS)
        merged = current.model_dump() | patch
        merged.update(updated_at=self._now_iso, version=current.version + 1)
        allocation = _validate(Allocation, merged)
        stored = self._commit(
            user_id,
            before,
            allocations={**before.allocations, client_id: allocation},
            where={client_id: ""},
        )
        return self._allocations_with_metrics(user_id, stored)[client_id]

    def delete_allocation(self, user_id: str, strategy_id: str, client_id: str) -> None:
        before = self._aggregate(user_id, strategy_id)
        if client_id not in before.allocations:
            raise NotFound(f"strategy {strategy_id} has no allocation to {client_id}")
        allocations = {c: a for c, a in before.allocations.items() if c != client_id}
        self._commit(user_id, before, allocations=allocations, deleted_allocations={client_id})

    def allocation_summary(self, user_id: str, strategy_id: str) -> dict:
        aggregate = self._aggregate(user_id, strategy_id)
        strategy = aggregate.strategy
        return summary(
            strategy_id,
            strategy.underlying,
            self._lot_size(strategy.underlying),
            aggregate.legs,
            aggregate.allocations.values(),
        )

    # ==========================================================================================
    # The aggregate's one write path
    # ==========================================================================================
    def _commit(
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
        where: dict[str, str] | None = None,
    ) -> StrategyAggregate:
        """Write one change of the aggregate; returns the aggregate as stored."""
        now = self._now_iso
        strategy = (strategy or before.strategy).model_copy(
            update={"updated_at": now, "version": before.strategy.version + 1}
        )
        legs = before.legs if legs is None else legs
        allocations = before.allocations if allocations is None else allocations
        strategy_id = strategy.strategy_id
        where = where or {}

        # Every allocation's totals follow the legs; one that no longer adds up stops the change.
        refreshed: dict[str, Allocation] = {}
        for client_id, allocation in allocations.items():
            totals = self._totals(
                allocation.allocation_config,
                legs,
                strategy,
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

        schedule_items = compile_schedule(user_id, strategy, legs, refreshed.values())
        schedule_keys = [item[keys.SK] for item in schedule_items]
        writes = [
            db.put_versioned(
                self._strategy_item(user_id, strategy, schedule_keys),
                before.strategy.version,
                self._stale(f"strategy {strategy_id}"),
            )
        ]
        for leg_no, leg in sorted(legs.items()):
            item = self._item(user_id, keys.leg(strategy_id, leg_no), leg, entity_type="LEG")
            if leg_no in new_legs:
                writes.append(
                    db.put_new(item, Conflict(f"leg {leg_no} already exists in this strategy"))
                )
            elif leg != before.legs.get(leg_no):
                writes.append(db.put(item))
        writes += [
            db.delete(user_id, keys.leg(strategy_id, leg_no)) for leg_no in sorted(deleted_legs)
        ]
        for client_id, allocation in sorted(refreshed.items()):
            item = self._allocation_item(user_id, allocation)
            if client_id in new_allocations:
                writes.append(
                    db.put_new(
                        item,
                        Conflict(
                            f"strategy {strategy_id} already has an allocation to {client_id}"
                        ),
                    )
                )
                writes.append(self._count_allocation(user_id, client_id, +1))
            elif allocation != before.allocations.get(client_id):
                writes.append(db.put(item))
        for client_id in sorted(deleted_allocations):
            writes.append(db.delete(user_id, keys.allocation(strategy_id, client_id)))
            writes.append(self._count_allocation(user_id, client_id, -1))
        writes += [
            db.delete(user_id, sort_key)
            for sort_key in before.schedule_keys
            if sort_key not in schedule_keys
        ]
        writes += [db.put(item) for item in schedule_items]
        self.repository.commit(writes)
        return StrategyAggregate(strategy, legs, refreshed, schedule_keys)

    def _count_allocation(self, user_id: str, client_id: str, delta: int) -> db.Write:
        return db.update(
            user_id,
            keys.broker_account(client_id),
            "SET allocation_count = if_not_exists(allocation_count, :zero) + :delta",
            "attribute_exists(sort_key)",
            InvalidInput.at("client_id", f"broker account {client_id} no longer exists"),
            values={":zero": 0, ":delta": delta},
        )

    # ==========================================================================================
    # Reading and checking
    # ==========================================================================================
    def _aggregate(self, user_id: str, strategy_id: str) -> StrategyAggregate:
        raw = self.repository.get(user_id, keys.strategy(strategy_id))
        if raw is None:
            raise NotFound(f"strategy {strategy_id} not found")
        legs, _ = self.repository.query_prefix(user_id, keys.legs_of(strategy_id))
        allocations, _ = self.repository.query_prefix(user_id, keys.allocations_of(strategy_id))
        return StrategyAggregate(
            strategy=Strategy.model_validate(raw),
            legs={int(item["leg_no"]): Leg.model_validate(item) for item in legs},
            allocations={
                item["client_id"]: Allocation.model_validate(item) for item in allocations
            },
            schedule_keys=list(raw.get("schedule_keys", [])),
        )

    def _with_metrics(self, user_id: str, strategies: list[Strategy]) -> list[Strategy]:
        """Strategies as read: their performance metrics are what executions have added so far."""
        if not strategies:
            return strategies
        prefix = keys.metrics_of(strategies[0].strategy_id) if len(strategies) == 1 else "METRICS#"
        items, _ = self.repository.query_prefix(user_id, prefix)
        counted = {item["strategy_id"]: item for item in items if "client_id" not in item}
        return [
            s.model_copy(
                update={
                    "performance_metrics": performance.strategy_view(
                        counts_of(counted.get(s.strategy_id)), s.performance_metrics
                    )
                }
            )
            for s in strategies
        ]

    def _allocations_with_metrics(
        self, user_id: str, aggregate: StrategyAggregate
    ) -> dict[str, Allocation]:
        items, _ = self.repository.query_prefix(
            user_id, keys.metrics_of(aggregate.strategy.strategy_id) + "#"
        )
        counted = {item["client_id"]: item for item in items}
        return {
            client_id: a.model_copy(
                update={
                    "performance_metrics": performance.allocation_view(
                        counts_of(counted.get(client_id)), a.performance_metrics
                    )
                }
            )
            for client_id, a in aggregate.allocations.items()
        }

    def _basket(self, user_id: str, basket_id: str) -> Basket:
        item = self.repository.get(user_id, keys.basket(basket_id))
        if item is None:
            raise NotFound(f"basket {basket_id} not found")
        return Basket.model_validate(item)

    def _strategies_in_basket(
        self, user_id: str, basket_id: str, with_schedule_keys: bool = False
    ) -> list:
        items, _ = self.repository.query_prefix(
            user_id, keys.strategy(""), filters={"basket_id": basket_id}
        )
        if with_schedule_keys:
            return [
                (Strategy.model_validate(item), list(item.get("schedule_keys", [])))
                for item in items
            ]
        return [Strategy.model_validate(item) for item in items]

    @staticmethod
    def _leg(aggregate: StrategyAggregate, leg_no: int) -> Leg:
        if leg_no not in aggregate.legs:
            raise NotFound(f"strategy {aggregate.strategy.strategy_id} has no leg {leg_no}")
        return aggregate.legs[leg_no]

    @staticmethod
    def _leg_underlying(underlying: str | None, strategy: Strategy, where: str) -> str:
        if underlying is not None and underlying != strategy.underlying:
            raise InvalidInput.at(
                where, f"must be the strategy's underlying {strategy.underlying}, not {underlying}"
            )
        return strategy.underlying

    def _check_expiry_available(self, leg: Leg, where: str) -> None:
        instrument = self.catalog.get(leg.underlying)
        if leg.expiry_type == "WEEKLY" and not instrument.has_weekly_expiries_on(self._today):
            raise InvalidInput.at(
                _join(where, "expiry_type"), f"{leg.underlying} has no weekly expiries; use MONTHLY"
            )

    def _totals(self, config, legs, strategy: Strategy, where: str):
        try:
            return calculated_totals(config, legs)
        except AllocationRuleBroken as broken:
            raise InvalidInput.at(_join(where, broken.field_path), broken.message) from None

    def _lot_size(self, underlying: str) -> int:
        return self.catalog.get(underlying).lot_size_for_expiry(self._today)

    @staticmethod
    def _check_version(sent: int | None, stored: int, what: str) -> None:
        if sent is not None and sent != stored:
            raise Conflict(
                f"{what} is at version {stored}, not {sent}; read it again and reapply your change"
            )

    @staticmethod
    def _stale(what: str) -> Conflict:
        return Conflict(
            f"{what} was changed by another request; read it again and reapply your change"
        )

    @property
    def _now_iso(self) -> str:
        return utc_iso(self.clock.now())

    @property
    def _today(self) -> date:
        return ist_date(self.clock.now())

    # ==========================================================================================
    # Items
    # ==========================================================================================
    @staticmethod
    def _item(user_id: str, sort_key: str, model: BaseModel, entity_type: str) -> dict[str, Any]:
        return {
            keys.PK: user_id,
            keys.SK: sort_key,
            "entity_type": entity_type,
            **model.model_dump(mode="python"),
        }

    def _strategy_item(
        self, user_id: str, strategy: Strategy, schedule_keys: list[str]
    ) -> dict[str, Any]:
        item = self._item(
            user_id, keys.strategy(strategy.strategy_id), strategy, entity_type="STRATEGY"
        )
        item["schedule_keys"] = schedule_keys
        return item

    def _allocation_item(self, user_id: str, allocation: Allocation) -> dict[str, Any]:
        item = self._item(
            user_id,
            keys.allocation(allocation.strategy_id, allocation.client_id),
            allocation,
            entity_type="ALLOCATION",
        )
        item.update(
            keys.allocation_index(allocation.strategy_id, allocation.priority, allocation.client_id)
        )
        return item


def _execution_schedule(data: dict) -> ExecutionSchedule:
    return ExecutionSchedule(
        entry_time=data["entry_time"],
        exit_time=data["exit_time"],
        entry_days=data["entry_days"],
        exit_days=data["exit_days"],
    )


def _deployable(capital, percentage):
    return (capital * percentage / 100).quantize(capital.__class__("0.01"))
