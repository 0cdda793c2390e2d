"""Performance metrics as a trader reads them: the spec's names, derived from what executions and
closes have counted (total executions, orders placed and failed, realised P&L, closed and winning
positions). Where and how the counts are stored is the storage adapter's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def _rate(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else Decimal(0)


def strategy_view(counts: Mapping[str, Decimal], stored: Mapping[str, Any]) -> dict[str, Decimal]:
    """The spec's strategy metrics (total_executions, successful_executions, success_rate, total_pnl,
    average_execution_time in ms) from the counts, and the counts themselves."""
    executions = counts.get("executions", Decimal(0))
    return {
        **stored,
        **counts,
        "total_executions": executions,
        "successful_executions": counts.get("executions_completed", Decimal(0)),
        "success_rate": _rate(counts.get("executions_completed", Decimal(0)), executions),
        "total_pnl": counts.get("realised_pnl", Decimal(0)),
        "average_execution_time": (
            counts.get("execution_time_ms", Decimal(0)) / executions
        ).quantize(Decimal(1))
        if executions
        else Decimal(0),
        "win_rate": _rate(
            counts.get("winning_positions", Decimal(0)), counts.get("closed_positions", Decimal(0))
        ),
    }


def allocation_view(counts: Mapping[str, Decimal], stored: Mapping[str, Any]) -> dict[str, Decimal]:
    """The spec's allocation metrics (total_trades_executed, success_rate of its orders, total_pnl,
    average_execution_time in ms) from the counts, and the counts themselves."""
    placed, failed = (
        counts.get("orders_placed", Decimal(0)),
        counts.get("orders_failed", Decimal(0)),
    )
    executions = counts.get("executions", Decimal(0))
    return {
        **stored,
        **counts,
        "total_trades_executed": placed,
        "success_rate": _rate(placed, placed + failed),
        "total_pnl": counts.get("realised_pnl", Decimal(0)),
        "average_execution_time": (
            counts.get("execution_time_ms", Decimal(0)) / executions
        ).quantize(Decimal(1))
        if executions
        else Decimal(0),
        "win_rate": _rate(
            counts.get("winning_positions", Decimal(0)), counts.get("closed_positions", Decimal(0))
        ),
    }
