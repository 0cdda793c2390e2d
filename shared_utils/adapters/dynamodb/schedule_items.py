"""The compiled schedule as table items: the one place that knows how schedule entries are keyed.

On the main table an entry's sort key gives the spec's per-user view (`begins_with(SK,
"ENTRY#09:30#")`); on GSI2 it sits in a sharded slot partition, so that discovering a slot costs
SCHEDULE_SHARDS queries however many users there are. The configuration plane's aggregate store
writes these items in the same transaction as every change of a strategy, its legs or its
allocations; the schedule trigger finds them on GSI2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.records import item_of, records_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.configuration.schedule import ScheduleEntry, compile_schedule
from shared_utils.domain.enums import ExecutionType, Weekday
from shared_utils.domain.models import Allocation, Leg, Strategy
from shared_utils.engine.records import Found

ENTITY = "SCHEDULE"


def schedule_item(entry: ScheduleEntry) -> dict[str, Any]:
    return item_of(
        entry,
        keys.schedule(entry.execution_type, entry.execution_time, entry.strategy_id, entry.weekday),
        ENTITY,
        **keys.schedule_index(
            entry.execution_type,
            entry.weekday,
            entry.execution_time,
            entry.user_id,
            entry.strategy_id,
        ),
    )


def schedule_items(
    user_id: str, strategy: Strategy, legs: Mapping[int, Leg], allocations: Iterable[Allocation]
) -> list[dict[str, Any]]:
    """Every schedule item of one strategy as it must be stored now."""
    return [
        schedule_item(entry) for entry in compile_schedule(user_id, strategy, legs, allocations)
    ]


class ScheduleTable:
    """The engine's Schedule on the single table."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    @property
    def queries_per_slot(self) -> int:
        return keys.SCHEDULE_SHARDS

    def due_at(
        self, execution_type: ExecutionType, weekday: Weekday, hhmm: str
    ) -> Found[ScheduleEntry]:
        items = self.repository.query_index_partitions(
            (keys.GSI2, keys.GSI2_PK, keys.schedule_slot(execution_type, weekday, hhmm, shard))
            for shard in range(keys.SCHEDULE_SHARDS)
        )
        return records_of(ScheduleEntry, items, lambda model, item: model.model_validate(item))

    def of_user(self, user_id: str, execution_type: ExecutionType) -> list[ScheduleEntry]:
        items, _ = self.repository.query_prefix(user_id, keys.schedule_prefix(execution_type))
        return [ScheduleEntry.model_validate(item) for item in items]

    def strategy_names(self, user_id: str) -> dict[str, str | None]:
        items, _ = self.repository.query_prefix(user_id, keys.strategy(""))
        return {item["strategy_id"]: item.get("strategy_name") for item in items}

    def has_strategy(self, user_id: str, strategy_id: str) -> bool:
        return self.repository.get(user_id, keys.strategy(strategy_id)) is not None
