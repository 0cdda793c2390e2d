"""Performance-metric items (METRICS#strategy and METRICS#strategy#account) as counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys

_LAYOUT = frozenset({keys.PK, keys.SK, "entity_type", "strategy_id", "client_id"})


def counts_of(item: dict[str, Any] | None) -> dict[str, Decimal]:
    """The counts a metrics item holds, without the attributes that place it in the table."""
    return {k: Decimal(str(v)) for k, v in (item or {}).items() if k not in _LAYOUT}
