"""Performance-metric items (METRICS#strategy and METRICS#strategy#account): the counts the engine
adds, as ADD updates, and the counts an item holds."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.engine.performance import MetricCounts

_LAYOUT = frozenset({keys.PK, keys.SK, "entity_type", "strategy_id", "client_id"})


def counts_of(item: dict[str, Any] | None) -> dict[str, Decimal]:
    """The counts a metrics item holds, without the attributes that place it in the table."""
    return {k: Decimal(str(v)) for k, v in (item or {}).items() if k not in _LAYOUT}


def adds(added: Iterable[MetricCounts]) -> list[db.Write]:
    """The updates that add these counts, for the transaction that records what they count."""
    return [_add(counts) for counts in added]


def _add(added: MetricCounts) -> db.Write:
    counts = added.counts
    names = {f"#m{i}": name for i, name in enumerate(counts)}
    values: dict[str, Any] = {f":m{i}": value for i, value in enumerate(counts.values())}
    expression = ", ".join(f"#m{i} :m{i}" for i in range(len(counts)))
    values.update({":entity": "METRICS", ":strategy": added.strategy_id})
    sets = "entity_type = :entity, strategy_id = :strategy"
    if added.client_id is not None:
        values[":client"] = added.client_id
        sets += ", client_id = :client"
    return db.update(
        added.user_id,
        keys.metrics_of(added.strategy_id, added.client_id),
        f"SET {sets} ADD {expression}",
        None,
        None,
        names=names,
        values=values,
    )
