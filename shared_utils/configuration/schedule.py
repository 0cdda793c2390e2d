"""The compiled schedule: what the engine reads at a time slot, rebuilt whenever a strategy changes.

Each item is one (ENTRY|EXIT, weekday) of one strategy. On the main table its sort key gives the
spec's per-user view (`begins_with(SK, "ENTRY#09:30#")`); on GSI2 it sits in a sharded slot
partition so that discovering a slot costs SCHEDULE_SHARDS queries however many users there are.
It carries the execution plan (legs and each account's lots), so the hot path reads nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared_utils.adapters.dynamodb import keys
from shared_utils.domain.models import Allocation, Leg, Strategy

ENTRY, EXIT = "ENTRY", "EXIT"


def execution_plan(
    user_id: str,
    strategy: Strategy,
    legs: Mapping[int, Leg],
    allocations: Iterable[Allocation],
    *,
    for_exit: bool = False,
) -> dict:
    """What the engine needs at one execution. An entry trades the enabled legs on the ACTIVE accounts
    that trade them; an exit must reach every leg and account that may hold a position, whatever has
    been paused or disabled since the entry."""
    ordered = sorted(allocations, key=lambda a: (a.priority, a.client_id))
    trading = (
        ordered
        if for_exit
        else [
            a
            for a in ordered
            if a.status == "ACTIVE" and a.calculated_totals.total_lots_per_execution > 0
        ]
    )
    return {
        "user_id": user_id,
        "strategy_id": strategy.strategy_id,
        "strategy_name": strategy.strategy_name,
        "underlying": strategy.underlying,
        "product": strategy.product,
        "is_intra_day": strategy.is_intra_day,
        "legs": [
            leg.model_dump(
                mode="python", exclude={"created_at", "updated_at", "version", "strategy_id"}
            )
            for _, leg in sorted(legs.items())
            if leg.enabled or for_exit
        ],
        "allocations": [
            {
                "client_id": a.client_id,
                "broker": a.broker,
                "mode": a.mode,
                "priority": a.priority,
                "lots_per_leg": a.calculated_totals.lots_per_leg,
                "risk_limits": a.risk_limits.model_dump(mode="python"),
                "execution_config": a.execution_config.model_dump(mode="python"),
            }
            for a in trading
        ],
    }


def compile_schedule(
    user_id: str, strategy: Strategy, legs: Mapping[int, Leg], allocations: Iterable[Allocation]
) -> list[dict]:
    """Entries exist while the strategy is ACTIVE and some account trades some leg. Exits exist while
    it is ACTIVE or PAUSED and has legs: pausing stops new entries, never the closing of positions."""
    allocations = list(allocations)
    plans = {
        ENTRY: execution_plan(user_id, strategy, legs, allocations),
        EXIT: execution_plan(user_id, strategy, legs, allocations, for_exit=True),
    }
    slots: list[tuple[str, str, str]] = []
    if strategy.status == "ACTIVE" and plans[ENTRY]["allocations"] and plans[ENTRY]["legs"]:
        slots += [(ENTRY, strategy.entry_time, day) for day in strategy.entry_days]
    if strategy.status in ("ACTIVE", "PAUSED") and legs:
        slots += [(EXIT, strategy.exit_time, day) for day in strategy.exit_days]
    items = []
    for execution_type, hhmm, weekday in slots:
        plan = plans[execution_type]
        items.append(
            {
                keys.PK: user_id,
                keys.SK: keys.schedule(execution_type, hhmm, strategy.strategy_id, weekday),
                **keys.schedule_index(execution_type, weekday, hhmm, user_id, strategy.strategy_id),
                "entity_type": "SCHEDULE",
                "execution_type": execution_type,
                "execution_time": hhmm,
                "weekday": weekday,
                "strategy_id": strategy.strategy_id,
                "total_legs": len(plan["legs"]),
                "total_lots": sum(sum(a["lots_per_leg"].values()) for a in plan["allocations"]),
                "brokers_involved": [a["client_id"] for a in plan["allocations"]],
                "plan": plan,
            }
        )
    return items
