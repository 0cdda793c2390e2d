"""What every execution and every close adds to the performance metrics of a strategy and of each
account that traded it.

The counts are facts the engine knows; the store adds them (never overwrites them) in the same
transaction as the fact they count (an execution finishing, a fill realising P&L), so each fact
counts once and no configuration write can undo them. Reads merge them into the strategy's and the
allocation's `performance_metrics` (`domain/performance.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared_utils.domain.enums import ExecutionStatus
from shared_utils.engine.records import OrderOutcome, PlanningFailure


@dataclass(frozen=True)
class MetricCounts:
    """What one fact adds to the metrics of a strategy (client_id None) or of one of its accounts."""

    user_id: str
    strategy_id: str
    client_id: str | None
    counts: dict[str, int | Decimal]


def execution_finished(
    user_id: str,
    strategy_id: str,
    status: ExecutionStatus,
    outcomes: Sequence[OrderOutcome],
    failures: Sequence[OrderOutcome | PlanningFailure],
    premium_by_account: dict[str, Decimal],
    execution_time_ms: int,
) -> list[MetricCounts]:
    """What one finished execution adds, to its strategy and to each account it touched."""
    failed_orders = [f for f in failures if isinstance(f, OrderOutcome)]
    accounts = sorted({o.client_id for o in [*outcomes, *failed_orders] if o.client_id})
    return [
        MetricCounts(
            user_id,
            strategy_id,
            None,
            {
                "executions": 1,
                f"executions_{status.lower()}": 1,
                "execution_time_ms": execution_time_ms,
                "orders_placed": len(outcomes),
                "orders_failed": len(failures),
                "total_premium": sum(premium_by_account.values(), Decimal(0)),
            },
        ),
        *(
            MetricCounts(
                user_id,
                strategy_id,
                client_id,
                {
                    "executions": 1,
                    "execution_time_ms": execution_time_ms,
                    "orders_placed": sum(1 for o in outcomes if o.client_id == client_id),
                    "orders_failed": sum(1 for o in failed_orders if o.client_id == client_id),
                    "total_premium": premium_by_account.get(client_id, Decimal(0)),
                },
            )
            for client_id in accounts
        ),
    ]


def position_closed(
    user_id: str, strategy_id: str, client_id: str, realised: Decimal, trade_result: Decimal | None
) -> list[MetricCounts]:
    """P&L a fill realised. A position that went flat (trade_result: all it realised since it was
    opened) counts as one trade, won or lost."""
    counts: dict[str, int | Decimal] = {"realised_pnl": realised}
    if trade_result is not None:
        counts.update(closed_positions=1, winning_positions=1 if trade_result > 0 else 0)
    return [
        MetricCounts(user_id, strategy_id, None, counts),
        MetricCounts(user_id, strategy_id, client_id, counts),
    ]
