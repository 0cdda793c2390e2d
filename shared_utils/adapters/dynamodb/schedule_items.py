"""The compiled schedule as table items: the one place that knows how schedule entries are keyed.

The configuration plane's aggregate store writes these in the same transaction as every change of a
strategy, its legs or its allocations; the schedule trigger finds them on GSI2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared_utils.configuration.schedule import compile_schedule
from shared_utils.domain.models import Allocation, Leg, Strategy


def schedule_items(
    user_id: str, strategy: Strategy, legs: Mapping[int, Leg], allocations: Iterable[Allocation]
) -> list[dict[str, Any]]:
    """Every schedule item of one strategy as it must be stored now."""
    return compile_schedule(user_id, strategy, legs, allocations)
