"""How many lots each broker account trades on each leg (README, "Rules the API enforces").

LEG_LEVEL: only the legs listed and enabled in leg_overrides trade on that account, with the lots
given there. STRATEGY_LEVEL: every enabled leg trades lots x strategy_lots_multiplier, which must come
out as whole lots. A leg disabled on the strategy trades on no account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from shared_utils.domain.enums import AllocationType, EntityStatus
from shared_utils.domain.models import Allocation, AllocationConfig, CalculatedTotals, Leg


class AllocationRuleBroken(ValueError):
    def __init__(self, field_path: str, message: str):
        super().__init__(f"{field_path}: {message}")
        self.field_path, self.message = field_path, message


def lots_per_leg(config: AllocationConfig, legs: Mapping[int, Leg]) -> dict[int, int]:
    """Lots this allocation trades, by leg number, for the legs that trade at all."""
    traded: dict[int, int] = {}
    if config.type == AllocationType.LEG_LEVEL:
        for key, override in sorted((config.leg_overrides or {}).items()):
            leg_no = int(key)
            if leg_no not in legs:
                raise AllocationRuleBroken(
                    f"allocation_config.leg_overrides.{key}",
                    f"leg {key} does not exist in this strategy",
                )
            leg = legs[leg_no]
            if override.enabled and leg.enabled:
                traded[leg_no] = override.lots
    else:
        multiplier = config.strategy_lots_multiplier or Decimal(1)
        for leg_no, leg in sorted(legs.items()):
            if not leg.enabled:
                continue
            scaled = leg.lots * multiplier
            if scaled != scaled.to_integral_value():
                raise AllocationRuleBroken(
                    "allocation_config.strategy_lots_multiplier",
                    f"leg {leg_no} has {leg.lots} lots; x {multiplier} is {scaled}, not a whole number of lots",
                )
            traded[leg_no] = int(scaled)
    for leg_no, lots in traded.items():
        problem = legs[leg_no].position_sizing.check(lots)
        if problem:
            raise AllocationRuleBroken(
                f"allocation_config.leg_overrides.{leg_no}", f"leg {leg_no}: {problem}"
            )
    return traded


def calculated_totals(config: AllocationConfig, legs: Mapping[int, Leg]) -> CalculatedTotals:
    traded = lots_per_leg(config, legs)
    return CalculatedTotals(
        total_lots_per_execution=sum(traded.values()),
        legs_enabled=len(traded),
        lots_per_leg={str(leg_no): lots for leg_no, lots in traded.items()},
    )


def summary(
    strategy_id: str,
    underlying: str,
    lot_size: int,
    legs: Mapping[int, Leg],
    allocations: Iterable[Allocation],
) -> dict[str, Any]:
    """Lots and quantities per broker account and per leg, over the ACTIVE allocations; quantities at
    `lot_size`, the lot size in force when the summary is read."""
    brokers: list[dict[str, Any]] = []
    per_leg: dict[int, dict[str, Any]] = {
        leg_no: {
            "leg_no": leg_no,
            "transaction_type": leg.transaction_type,
            "leg_type": leg.leg_type,
            "enabled": leg.enabled,
            "total_lots": 0,
            "total_quantity": 0,
            "lots_by_client": {},
        }
        for leg_no, leg in sorted(legs.items())
    }
    for allocation in sorted(allocations, key=lambda a: (a.priority, a.client_id)):
        totals = allocation.calculated_totals
        brokers.append(
            {
                "client_id": allocation.client_id,
                "broker": allocation.broker,
                "mode": allocation.mode,
                "priority": allocation.priority,
                "status": allocation.status,
                "allocation_type": allocation.allocation_config.type,
                "total_lots_per_execution": totals.total_lots_per_execution,
                "total_quantity_per_execution": totals.total_lots_per_execution * lot_size,
                "quantity_per_leg": {
                    leg: lots * lot_size for leg, lots in totals.lots_per_leg.items()
                },
                "legs_enabled": totals.legs_enabled,
                "lots_per_leg": totals.lots_per_leg,
                "estimated_margin_required": totals.estimated_margin_required,
            }
        )
        if allocation.status != EntityStatus.ACTIVE:
            continue
        for key, lots in totals.lots_per_leg.items():
            row = per_leg[int(key)]
            row["total_lots"] += lots
            row["total_quantity"] += lots * lot_size
            row["lots_by_client"][allocation.client_id] = lots
    active = [
        b
        for b in brokers
        if b["status"] == EntityStatus.ACTIVE and b["total_lots_per_execution"] > 0
    ]
    return {
        "strategy_id": strategy_id,
        "underlying": underlying,
        "lot_size": lot_size,
        "total_lots_per_execution": sum(b["total_lots_per_execution"] for b in active),
        "total_quantity_per_execution": sum(b["total_quantity_per_execution"] for b in active),
        "brokers_involved": [b["client_id"] for b in active],
        "brokers": brokers,
        "legs": list(per_leg.values()),
    }
