"""Performance metrics of strategies and allocations, added to by every execution and every close.

They are items of their own (METRICS#strategy and METRICS#strategy#account), changed only with ADD
in the same transaction as the fact they count (an execution finishing, a fill realising P&L), so
each fact counts once and no configuration write can overwrite them. Reads merge them into the
strategy's and the allocation's `performance_metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db


def _add(
    user_id: str, sort_key: str, strategy_id: str, client_id: str | None, counts: dict[str, Any]
) -> db.Write:
    names = {f"#m{i}": name for i, name in enumerate(counts)}
    values = {f":m{i}": value for i, value in enumerate(counts.values())}
    adds = ", ".join(f"#m{i} :m{i}" for i in range(len(counts)))
    values.update({":entity": "METRICS", ":strategy": strategy_id})
    sets = "entity_type = :entity, strategy_id = :strategy"
    if client_id is not None:
        values[":client"] = client_id
        sets += ", client_id = :client"
    return db.update(
        user_id, sort_key, f"SET {sets} ADD {adds}", None, None, names=names, values=values
    )


def execution_finished(
    user_id: str,
    strategy_id: str,
    status: str,
    outcomes: Iterable[dict],
    failures: Iterable[dict],
    premium_by_account: dict[str, Decimal],
    execution_time_ms: int,
) -> list[db.Write]:
    """What one finished execution adds, to its strategy and to each account it touched."""
    outcomes, failures = list(outcomes), list(failures)
    writes = [
        _add(
            user_id,
            keys.metrics_of(strategy_id),
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
        )
    ]
    accounts = sorted({o["client_id"] for o in outcomes + failures if o.get("client_id")})
    for client_id in accounts:
        writes.append(
            _add(
                user_id,
                keys.metrics_of(strategy_id, client_id),
                strategy_id,
                client_id,
                {
                    "executions": 1,
                    "execution_time_ms": execution_time_ms,
                    "orders_placed": sum(1 for o in outcomes if o.get("client_id") == client_id),
                    "orders_failed": sum(1 for o in failures if o.get("client_id") == client_id),
                    "total_premium": premium_by_account.get(client_id, Decimal(0)),
                },
            )
        )
    return writes


def position_closed(
    user_id: str, strategy_id: str, client_id: str, realised: Decimal, trade_result: Decimal | None
) -> list[db.Write]:
    """P&L a fill realised. A position that went flat (trade_result: all it realised since it was
    opened) counts as one trade, won or lost."""
    counts: dict[str, Any] = {"realised_pnl": realised}
    if trade_result is not None:
        counts.update(closed_positions=1, winning_positions=1 if trade_result > 0 else 0)
    return [
        _add(user_id, keys.metrics_of(strategy_id), strategy_id, None, counts),
        _add(user_id, keys.metrics_of(strategy_id, client_id), strategy_id, client_id, counts),
    ]
