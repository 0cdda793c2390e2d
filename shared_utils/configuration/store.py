"""What the configuration plane needs from storage, in the trader's words.

A strategy with its legs and allocations is one aggregate, read whole and changed by one commit
that is all or nothing. The store owns how entities are laid out in the table (keys, index
attributes, counters, the compiled schedule's items); the services here never see that layout.
Conditions the store checks (a stale version, an id already taken, an account still in use) fail
with the domain errors of `configuration.conflicts`, so a lost race reads like any other refusal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared_utils.domain.models import Allocation, Basket, BrokerAccount, Leg, Strategy

Counts = Mapping[str, Decimal]


@dataclass(frozen=True)
class StoredStrategy:
    """A strategy as read, with the compiled schedule stored with it.

    `compiled_schedule` is the store's own record of the schedule entries written with this version
    of the strategy: the services pass it back untouched and never look inside it.
    """

    strategy: Strategy
    compiled_schedule: tuple[str, ...] = ()


@dataclass(frozen=True)
class StrategyAggregate:
    """A strategy, its legs by leg number and its allocations by client id, as read or as stored."""

    strategy: Strategy
    legs: dict[int, Leg]
    allocations: dict[str, Allocation]
    compiled_schedule: tuple[str, ...] = ()


@dataclass(frozen=True)
class AggregateChange:
    """One change of an aggregate: what was read, and what is to be stored in its place.

    `after.strategy` carries the next version; the store writes it only if the strategy is still at
    `before`'s version, so of two changes computed from one read, one wins and the other is a
    Conflict. Legs and allocations that are new must not exist yet; deleted ones are removed; the
    others are written only where they differ from `before`. The compiled schedule is rebuilt from
    `after` in the same transaction.
    """

    user_id: str
    before: StrategyAggregate
    after: StrategyAggregate
    new_legs: frozenset[int] = frozenset()
    deleted_legs: frozenset[int] = frozenset()
    new_allocations: frozenset[str] = frozenset()
    deleted_allocations: frozenset[str] = frozenset()


class ConfigurationStore(Protocol):
    """Every read is scoped by the caller's user_id; every write method commits atomically.

    Listings return one page and the token of the next one (None on the last page); a token is
    only good for the listing that issued it (`InvalidInput` on next_token otherwise).
    """

    # -- broker accounts -------------------------------------------------------------------------
    def broker_accounts(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[BrokerAccount], str | None]: ...

    def broker_account(self, user_id: str, client_id: str) -> BrokerAccount | None: ...

    def allocations_trading_on(self, user_id: str, client_id: str) -> int | None:
        """How many allocations trade on the account; None when it is not registered."""
        ...

    def register_broker_account(self, user_id: str, account: BrokerAccount) -> None:
        """Conflict when the client id is registered already."""
        ...

    def remove_broker_account(self, user_id: str, client_id: str) -> None:
        """Only while no allocation trades on it (Conflict otherwise)."""
        ...

    # -- baskets ---------------------------------------------------------------------------------
    def baskets(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[Basket], str | None]: ...

    def basket(self, user_id: str, basket_id: str) -> Basket | None: ...

    def add_basket(self, user_id: str, basket: Basket) -> None: ...

    def replace_basket(self, user_id: str, basket: Basket, read_version: int) -> None: ...

    def remove_basket(
        self, user_id: str, basket: Basket, detached: Sequence[tuple[StoredStrategy, Strategy]]
    ) -> None:
        """Remove the basket (at the version read) and store each of its strategies, as read, in
        its new form: one transaction."""
        ...

    # -- strategies ------------------------------------------------------------------------------
    def strategies(
        self,
        user_id: str,
        basket_id: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Strategy], str | None]: ...

    def strategies_in_basket(self, user_id: str, basket_id: str) -> list[StoredStrategy]: ...

    def add_strategy(self, user_id: str, strategy: Strategy, basket: Basket | None) -> None:
        """In a basket, it is counted there: only while the basket is at the version read and has
        room for it."""
        ...

    def aggregate(self, user_id: str, strategy_id: str) -> StrategyAggregate | None: ...

    def aggregate_with_counts(
        self, user_id: str, strategy_id: str
    ) -> tuple[StrategyAggregate, Counts, Mapping[str, Counts]] | None:
        """The aggregate, what executions have counted for the strategy, and for each of its
        accounts by client id: read together (a trader's detail view), None when it is not there."""
        ...

    def commit(self, change: AggregateChange) -> StrategyAggregate:
        """Write the change in one transaction; returns the aggregate as stored."""
        ...

    def remove_strategy(self, user_id: str, aggregate: StrategyAggregate) -> None:
        """The strategy (at the version read), its legs, allocations and compiled schedule; its
        basket counts one strategy fewer."""
        ...

    # -- performance metrics ---------------------------------------------------------------------
    def strategy_counts(self, user_id: str, strategy_ids: Sequence[str]) -> Mapping[str, Counts]:
        """What executions have counted so far for each strategy, by strategy id."""
        ...

    def allocation_counts(self, user_id: str, strategy_id: str) -> Mapping[str, Counts]:
        """What executions have counted so far on each account of one strategy, by client id."""
        ...
