"""The configuration plane's store over the single table (`ConfigurationStore` of
shared_utils/configuration/store.py).

Each method is one read or one transaction of `ConfigurationRepository`; a condition that fails
raises the refusal the configuration plane names for it (`configuration.conflicts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from shared_utils.adapters.dynamodb import configuration_items as items
from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.metrics import counts_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.adapters.dynamodb.schedule_items import schedule_items
from shared_utils.configuration import conflicts
from shared_utils.configuration.store import AggregateChange, StoredStrategy, StrategyAggregate
from shared_utils.domain.models import (
    MAX_STRATEGIES_PER_BASKET,
    Basket,
    BrokerAccount,
    Strategy,
)

Entity = TypeVar("Entity", bound=BaseModel)


class DynamoConfigurationStore:
    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def _page(
        self,
        model: type[Entity],
        user_id: str,
        prefix: str,
        limit: int | None,
        next_token: str | None,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Entity], str | None]:
        raw, token = self.repository.query_prefix(
            user_id, prefix, limit=limit, next_token=next_token, filters=filters
        )
        return [model.model_validate(item) for item in raw], token

    def _one(self, model: type[Entity], user_id: str, sort_key: str) -> Entity | None:
        raw = self.repository.get(user_id, sort_key)
        return None if raw is None else model.model_validate(raw)

    # -- broker accounts -------------------------------------------------------------------------
    def broker_accounts(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[BrokerAccount], str | None]:
        return self._page(BrokerAccount, user_id, keys.broker_account(""), limit, next_token)

    def broker_account(self, user_id: str, client_id: str) -> BrokerAccount | None:
        return self._one(BrokerAccount, user_id, keys.broker_account(client_id))

    def allocations_trading_on(self, user_id: str, client_id: str) -> int | None:
        raw = self.repository.get(user_id, keys.broker_account(client_id))
        return None if raw is None else int(raw.get(items.ALLOCATION_COUNT, 0))

    def register_broker_account(self, user_id: str, account: BrokerAccount) -> None:
        self.repository.commit(
            [
                db.put_new(
                    items.broker_account_item(user_id, account),
                    conflicts.account_registered(account.client_id),
                )
            ]
        )

    def remove_broker_account(self, user_id: str, client_id: str) -> None:
        self.repository.commit(
            [
                db.Write(
                    "Delete",
                    {keys.PK: user_id, keys.SK: keys.broker_account(client_id)},
                    condition=f"attribute_exists(sort_key) AND {items.ALLOCATION_COUNT} = :none",
                    values={":none": 0},
                    on_condition_failure=conflicts.account_in_use(client_id),
                )
            ]
        )

    # -- baskets ---------------------------------------------------------------------------------
    def baskets(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[Basket], str | None]:
        return self._page(Basket, user_id, keys.basket(""), limit, next_token)

    def basket(self, user_id: str, basket_id: str) -> Basket | None:
        return self._one(Basket, user_id, keys.basket(basket_id))

    def add_basket(self, user_id: str, basket: Basket) -> None:
        self.repository.commit(
            [db.put_new(items.basket_item(user_id, basket), conflicts.id_collision("basket"))]
        )

    def replace_basket(self, user_id: str, basket: Basket, read_version: int) -> None:
        stale = conflicts.stale(f"basket {basket.basket_id}")
        self.repository.commit(
            [db.put_versioned(items.basket_item(user_id, basket), read_version, stale)]
        )

    def remove_basket(
        self, user_id: str, basket: Basket, detached: Sequence[tuple[StoredStrategy, Strategy]]
    ) -> None:
        basket_id = basket.basket_id
        writes = [
            db.delete_versioned(
                user_id,
                keys.basket(basket_id),
                basket.version,
                conflicts.stale(f"basket {basket_id}"),
            )
        ]
        writes += [
            _strategy_fields(user_id, strategy, read.strategy.version)
            for read, strategy in detached
        ]
        self.repository.commit(writes)

    # -- strategies ------------------------------------------------------------------------------
    def strategies(
        self,
        user_id: str,
        basket_id: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Strategy], str | None]:
        only = {"basket_id": basket_id} if basket_id else None
        return self._page(Strategy, user_id, keys.strategy(""), limit, next_token, only)

    def strategies_in_basket(self, user_id: str, basket_id: str) -> list[StoredStrategy]:
        raw, _ = self.repository.query_prefix(
            user_id, keys.strategy(""), filters={"basket_id": basket_id}
        )
        return [items.stored_strategy(item) for item in raw]

    def add_strategy(self, user_id: str, strategy: Strategy, basket: Basket | None) -> None:
        writes = []
        if basket is not None:
            writes.append(
                db.update(
                    user_id,
                    keys.basket(basket.basket_id),
                    "SET strategy_count = strategy_count + :one, #version = #version + :one",
                    "#version = :v AND strategy_count < :max",
                    conflicts.stale(f"basket {basket.basket_id}"),
                    names={"#version": "version"},
                    values={":one": 1, ":v": basket.version, ":max": MAX_STRATEGIES_PER_BASKET},
                )
            )
        writes.append(
            db.put_new(
                items.strategy_item(user_id, strategy, [], {}, {}),
                conflicts.id_collision("strategy"),
            )
        )
        self.repository.commit(writes)

    def aggregate(self, user_id: str, strategy_id: str) -> StrategyAggregate | None:
        raw = self.repository.get(user_id, keys.strategy(strategy_id))
        if raw is None:
            return None
        listed = items.members(raw)
        if listed is None:
            return self._queried(user_id, strategy_id, raw)
        found = self.repository.get_many(user_id, [*listed[0], *listed[1]]) if any(listed) else []
        return _assembled(raw, found)

    def aggregate_with_counts(
        self, user_id: str, strategy_id: str
    ) -> tuple[StrategyAggregate, dict[str, Decimal], dict[str, dict[str, Decimal]]] | None:
        # Two requests: the strategy item (which lists its legs and allocations), then one batch of
        # those items and the metrics items of the strategy and of each of its accounts.
        raw = self.repository.get(user_id, keys.strategy(strategy_id))
        if raw is None:
            return None
        listed = items.members(raw)
        if listed is None:
            aggregate = self._queried(user_id, strategy_id, raw)
            counted, _ = self.repository.query_prefix(user_id, keys.metrics_of(strategy_id))
        else:
            leg_keys, allocation_keys = listed
            clients = raw[items.AGGREGATE_ALLOCATIONS]
            metrics = [keys.metrics_of(strategy_id, c) for c in (None, *clients)]
            found = self.repository.get_many(user_id, [*leg_keys, *allocation_keys, *metrics])
            aggregate = _assembled(raw, found)
            counted = [item for item in found if item.get("entity_type") == "METRICS"]
        counted = [item for item in counted if item.get("strategy_id") == strategy_id]
        own = next((counts_of(item) for item in counted if "client_id" not in item), {})
        by_account = {item["client_id"]: counts_of(item) for item in counted if "client_id" in item}
        return aggregate, own, by_account

    def _queried(self, user_id: str, strategy_id: str, raw: dict[str, Any]) -> StrategyAggregate:
        """An item written before it listed its legs and allocations: they are queried for."""
        legs, _ = self.repository.query_prefix(user_id, keys.legs_of(strategy_id))
        allocations, _ = self.repository.query_prefix(user_id, keys.allocations_of(strategy_id))
        return items.aggregate(raw, legs, allocations)

    def commit(self, change: AggregateChange) -> StrategyAggregate:
        user_id, before, after = change.user_id, change.before, change.after
        strategy = after.strategy
        strategy_id = strategy.strategy_id
        schedule = schedule_items(user_id, strategy, after.legs, after.allocations.values())
        schedule_keys = tuple(item[keys.SK] for item in schedule)
        writes = [
            db.put_versioned(
                items.strategy_item(
                    user_id, strategy, schedule_keys, after.legs, after.allocations
                ),
                before.strategy.version,
                conflicts.stale(f"strategy {strategy_id}"),
            )
        ]
        for leg_no, leg in sorted(after.legs.items()):
            item = items.leg_item(user_id, leg)
            if leg_no in change.new_legs:
                writes.append(db.put_new(item, conflicts.leg_exists(leg_no)))
            elif leg != before.legs.get(leg_no):
                writes.append(db.put(item))
        writes += [
            db.delete(user_id, keys.leg(strategy_id, leg_no))
            for leg_no in sorted(change.deleted_legs)
        ]
        for client_id, allocation in sorted(after.allocations.items()):
            item = items.allocation_item(user_id, allocation)
            if client_id in change.new_allocations:
                writes.append(db.put_new(item, conflicts.allocation_exists(strategy_id, client_id)))
                writes.append(self._count_allocation(user_id, client_id, +1))
            elif allocation != before.allocations.get(client_id):
                writes.append(db.put(item))
        for client_id in sorted(change.deleted_allocations):
            writes.append(db.delete(user_id, keys.allocation(strategy_id, client_id)))
            writes.append(self._count_allocation(user_id, client_id, -1))
        writes += [
            db.delete(user_id, sort_key)
            for sort_key in before.compiled_schedule
            if sort_key not in schedule_keys
        ]
        writes += [db.put(item) for item in schedule]
        self.repository.commit(writes)
        return StrategyAggregate(strategy, after.legs, after.allocations, schedule_keys)

    def remove_strategy(self, user_id: str, aggregate: StrategyAggregate) -> None:
        strategy = aggregate.strategy
        strategy_id = strategy.strategy_id
        writes = [
            db.delete_versioned(
                user_id,
                keys.strategy(strategy_id),
                strategy.version,
                conflicts.stale(f"strategy {strategy_id}"),
            )
        ]
        writes += [db.delete(user_id, keys.leg(strategy_id, leg_no)) for leg_no in aggregate.legs]
        for client_id in aggregate.allocations:
            writes.append(db.delete(user_id, keys.allocation(strategy_id, client_id)))
            writes.append(self._count_allocation(user_id, client_id, -1))
        writes += [db.delete(user_id, sort_key) for sort_key in aggregate.compiled_schedule]
        if strategy.basket_id:
            writes.append(
                db.update(
                    user_id,
                    keys.basket(strategy.basket_id),
                    "SET strategy_count = strategy_count - :one, #version = #version + :one",
                    "attribute_exists(sort_key)",
                    conflicts.basket_changed(strategy.basket_id),
                    names={"#version": "version"},
                    values={":one": 1},
                )
            )
        self.repository.commit(writes)

    def _count_allocation(self, user_id: str, client_id: str, delta: int) -> db.Write:
        return db.update(
            user_id,
            keys.broker_account(client_id),
            f"SET {items.ALLOCATION_COUNT} = if_not_exists({items.ALLOCATION_COUNT}, :zero) + :delta",
            "attribute_exists(sort_key)",
            conflicts.account_gone(client_id),
            values={":zero": 0, ":delta": delta},
        )

    # -- performance metrics ---------------------------------------------------------------------
    def strategy_counts(
        self, user_id: str, strategy_ids: Sequence[str]
    ) -> dict[str, dict[str, Decimal]]:
        # One strategy reads its own metrics; a listing reads every metrics item once.
        prefix = keys.metrics_of(strategy_ids[0]) if len(strategy_ids) == 1 else keys.metrics_of("")
        raw, _ = self.repository.query_prefix(user_id, prefix)
        return {item["strategy_id"]: counts_of(item) for item in raw if "client_id" not in item}

    def allocation_counts(self, user_id: str, strategy_id: str) -> dict[str, dict[str, Decimal]]:
        raw, _ = self.repository.query_prefix(user_id, keys.metrics_of(strategy_id) + "#")
        return {item["client_id"]: counts_of(item) for item in raw}


def _strategy_fields(user_id: str, strategy: Strategy, read_version: int) -> db.Write:
    """The strategy's own fields replaced (at the version read), and what the store keeps beside
    them on its item (the compiled schedule's keys, the legs and allocations) left as they are."""
    fields = list(strategy.model_dump(mode="python").items())
    names = {f"#f{n}": name for n, (name, _) in enumerate(fields)}
    values: dict[str, Any] = {f":f{n}": v for n, (_, v) in enumerate(fields) if v is not None}
    # A None is not stored (as a Put of the item would leave it out): it is removed.
    expression = "SET " + ", ".join(
        f"#f{n} = :f{n}" for n, (_, v) in enumerate(fields) if v is not None
    )
    removed = [f"#f{n}" for n, (_, v) in enumerate(fields) if v is None]
    if removed:
        expression += " REMOVE " + ", ".join(removed)
    return db.update(
        user_id,
        keys.strategy(strategy.strategy_id),
        expression,
        "#version = :read_version",
        conflicts.stale(f"strategy {strategy.strategy_id}"),
        names={**names, "#version": "version"},
        values={**values, ":read_version": read_version},
    )


def _assembled(raw: dict[str, Any], found: list[dict[str, Any]]) -> StrategyAggregate:
    by_kind: dict[str, list[dict[str, Any]]] = {"LEG": [], "ALLOCATION": []}
    for item in found:
        by_kind.get(item.get("entity_type", ""), []).append(item)
    return items.aggregate(raw, by_kind["LEG"], by_kind["ALLOCATION"])
