"""The composition root: every collaborator a handler needs, built from the function's environment.

Collaborators are built on first use, never at import, from the environment the stack (or the
local platform) gives the function, read through the typed models of lambda_functions.environment
(so the first invocation of a misconfigured function fails naming the variable), and cached for
the life of the process (a warm Lambda reuses them). Tests clear the caches
(`factory.cache_clear()`) between tables.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from lambda_functions.environment import (
    ClockEnvironment,
    EventBusEnvironment,
    TableEnvironment,
    read,
)
from shared_utils.domain.clock import Clock, ist_date

# Each builder imports what it builds: a handler's cold start then loads only the collaborators it
# uses (a configuration-plane function never loads the options maths, the market model, the
# engine's stores and logic or the paper broker; the market reference, not even boto3).
# tests/unit/test_handler_imports.py checks it.
if TYPE_CHECKING:
    from shared_utils.adapters.brokers.registry import BrokerRegistry
    from shared_utils.adapters.dynamodb.engine_tables import EngineTables
    from shared_utils.adapters.dynamodb.market_cache import CachedMarketData
    from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
    from shared_utils.configuration.plane import ConfigurationPlane
    from shared_utils.domain.broker import Broker
    from shared_utils.domain.enums import AccountMode, BrokerName
    from shared_utils.engine.executor import StrategyExecutor
    from shared_utils.engine.position_watch import PositionWatch
    from shared_utils.engine.queries import ExecutionQueries
    from shared_utils.engine.reconciliation import OrderReconciliation
    from shared_utils.market.reference import MarketReference


def clock() -> Clock:
    """The platform's clock, read anew: a simulated clock without an anchor starts when built."""
    return read(ClockEnvironment).clock()


@lru_cache(maxsize=1)
def table() -> ConfigurationRepository:
    """The table's client, shared by the configuration plane and the engine."""
    import boto3

    from shared_utils.adapters.dynamodb.repository import ConfigurationRepository

    name = read(TableEnvironment).table_name
    return ConfigurationRepository(boto3.session.Session().client("dynamodb"), name)


@lru_cache(maxsize=1)
def configuration() -> ConfigurationPlane:
    from shared_utils.adapters.dynamodb.configuration_store import DynamoConfigurationStore
    from shared_utils.configuration.plane import ConfigurationPlane

    return ConfigurationPlane.build(DynamoConfigurationStore(table()), clock())


@lru_cache(maxsize=1)
def market_reference() -> MarketReference:
    from shared_utils.domain.instruments import built_in_catalog
    from shared_utils.market.calendar import built_in_calendar
    from shared_utils.market.expiries import ExpiryCalendar
    from shared_utils.market.reference import MarketReference

    return MarketReference(built_in_catalog(), ExpiryCalendar(built_in_calendar()))


def today() -> date:
    """The trading date (IST) on the platform's clock."""
    return ist_date(clock().now())


@lru_cache(maxsize=1)
def market() -> CachedMarketData:
    from shared_utils.adapters.dynamodb.market_cache import CachedMarketData
    from shared_utils.domain.instruments import built_in_catalog
    from shared_utils.market.calendar import built_in_calendar
    from shared_utils.market.data import SimulatedMarket

    # The simulated market is the only market data this platform has; paper trading runs on it.
    catalog, calendar = built_in_catalog(), built_in_calendar()
    return CachedMarketData(SimulatedMarket(catalog, calendar), table(), clock())


def _paper_broker(user_id: str, client_id: str) -> Broker:
    from shared_utils.adapters.brokers.paper.broker import PaperBroker
    from shared_utils.domain.instruments import built_in_catalog
    from shared_utils.market.calendar import built_in_calendar

    return PaperBroker(
        table(),
        market(),
        built_in_catalog(),
        built_in_calendar(),
        clock(),
        user_id,
        client_id,
    )


@lru_cache(maxsize=1)
def brokers() -> BrokerRegistry:
    """Every broker's PAPER accounts trade on the paper broker; a LIVE account is refused (no live
    adapter is registered yet)."""
    from shared_utils.adapters.brokers.registry import BrokerRegistry

    registry = BrokerRegistry()
    registry.register_paper(_paper_broker)
    return registry


def broker_for(user_id: str, client_id: str, broker: BrokerName, mode: AccountMode) -> Broker:
    return brokers().broker_for(user_id, client_id, broker, mode)


@lru_cache(maxsize=1)
def engine() -> EngineTables:
    """The execution plane's stores on the table."""
    from shared_utils.adapters.dynamodb.engine_tables import engine_tables

    return engine_tables(table(), clock())


@lru_cache(maxsize=1)
def executor() -> StrategyExecutor:
    from shared_utils.domain.instruments import built_in_catalog
    from shared_utils.engine.executor import StrategyExecutor
    from shared_utils.market.calendar import built_in_calendar
    from shared_utils.market.expiries import ExpiryCalendar

    stores = engine()
    return StrategyExecutor(
        stores.executions,
        stores.orders,
        stores.positions,
        market(),
        built_in_catalog(),
        ExpiryCalendar(built_in_calendar()),
        clock(),
        broker_for,
    )


@lru_cache(maxsize=1)
def position_watch() -> PositionWatch:
    from shared_utils.engine.position_watch import PositionWatch
    from shared_utils.market.calendar import built_in_calendar

    stores = engine()
    return PositionWatch(
        stores.positions, stores.executions, executor(), market(), built_in_calendar(), clock()
    )


@lru_cache(maxsize=1)
def order_reconciliation() -> OrderReconciliation:
    import boto3

    from shared_utils.adapters.dynamodb.order_followup import OrderFollowUpTable
    from shared_utils.engine.emitter import EventPublisher, alert_types, lookback
    from shared_utils.engine.reconciliation import OrderReconciliation

    bus = read(EventBusEnvironment).event_bus_name
    # boto3 types the entries as TypedDicts; the reconciliation builds them as dicts with those keys.
    events = cast(EventPublisher, boto3.session.Session().client("events"))

    def publish(entries: list[dict[str, Any]]) -> None:
        for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
            events.put_events(
                Entries=[{**entry, "EventBusName": bus} for entry in entries[start : start + 10]]
            )

    return OrderReconciliation(
        OrderFollowUpTable(table()),
        engine().positions,
        clock(),
        broker_for,
        publish,
        alert_types()["duplicate_order"],
        lookback("check_duplicate_orders"),
    )


@lru_cache(maxsize=1)
def execution_queries() -> ExecutionQueries:
    from shared_utils.engine.queries import ExecutionQueries

    stores = engine()
    return ExecutionQueries(
        stores.executions,
        stores.orders,
        stores.positions,
        stores.schedule,
        clock(),
        market(),
        executor(),
    )
