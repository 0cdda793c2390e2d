"""The execution plane's stores on one table, built together: what the composition root (and a test
against a table) hands the executor, the trigger and the execution queries."""

from __future__ import annotations

from dataclasses import dataclass

from shared_utils.adapters.dynamodb.executions import ExecutionTable
from shared_utils.adapters.dynamodb.orders import OrderTable
from shared_utils.adapters.dynamodb.positions import PositionTable
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.adapters.dynamodb.schedule_items import ScheduleTable
from shared_utils.domain.clock import Clock


@dataclass(frozen=True)
class EngineTables:
    executions: ExecutionTable
    orders: OrderTable
    positions: PositionTable
    schedule: ScheduleTable


def engine_tables(repository: ConfigurationRepository, clock: Clock) -> EngineTables:
    return EngineTables(
        ExecutionTable(repository),
        OrderTable(repository),
        PositionTable(repository, clock),
        ScheduleTable(repository),
    )
