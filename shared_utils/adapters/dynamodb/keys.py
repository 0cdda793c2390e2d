"""Key patterns of the single table, kept exactly as the spec writes them, plus what we add.

Main table: PK `user_id`, SK `sort_key`. GSI1 (AllocationsByStrategy) and GSI2 (UserExecutionSchedule)
have generic key attributes (GSI1PK/GSI1SK, GSI2PK/GSI2SK) so other access patterns can overload them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

PK, SK = "user_id", "sort_key"
GSI1, GSI1_PK, GSI1_SK = "AllocationsByStrategy", "GSI1PK", "GSI1SK"
GSI2, GSI2_PK, GSI2_SK = "UserExecutionSchedule", "GSI2PK", "GSI2SK"

# Discovery of everything due at one slot queries every shard of that slot in parallel: the number
# of requests depends on this number, never on the number of users. Writers and readers must agree
# on it, so changing it means rewriting every schedule item.
SCHEDULE_SHARDS = 8


def basket(basket_id: str) -> str:
    return f"BASKET#{basket_id}"


def strategy(strategy_id: str) -> str:
    return f"STRATEGY#{strategy_id}"


def legs_of(strategy_id: str) -> str:
    return f"LEG#{strategy_id}#"


def leg(strategy_id: str, leg_no: int) -> str:
    return f"{legs_of(strategy_id)}{leg_no}"


def allocations_of(strategy_id: str) -> str:
    return f"ALLOCATION#{strategy_id}#"


def allocation(strategy_id: str, client_id: str) -> str:
    return f"{allocations_of(strategy_id)}{client_id}"


def broker_account(client_id: str) -> str:
    return f"BROKER_ACCOUNT#{client_id}"


def allocation_index(strategy_id: str, priority: int, client_id: str) -> dict[str, str]:
    """GSI1: a strategy's allocations in priority order (the spec's AllocationsByStrategy)."""
    return {GSI1_PK: strategy_id, GSI1_SK: f"ALLOCATION#{priority:03d}#{client_id}"}


def schedule(execution_type: str, hhmm: str, strategy_id: str, weekday: str) -> str:
    """The per-user schedule view of the spec: `begins_with(SK, "ENTRY#09:30#")` on the main table."""
    return f"{execution_type}#{hhmm}#{strategy_id}#{weekday}"


def schedule_prefix(execution_type: str, hhmm: str | None = None) -> str:
    return f"{execution_type}#" if hhmm is None else f"{execution_type}#{hhmm}#"


def schedule_shard(strategy_id: str) -> int:
    digest = hashlib.sha256(strategy_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % SCHEDULE_SHARDS


def schedule_slot(execution_type: str, weekday: str, hhmm: str, shard: int) -> str:
    """GSI2 partition: one time slot on one weekday, one shard of it."""
    return f"SLOT#{execution_type}#{weekday}#{hhmm}#{shard:02d}"


def schedule_index(
    execution_type: str, weekday: str, hhmm: str, user_id: str, strategy_id: str
) -> dict[str, str]:
    return {
        GSI2_PK: schedule_slot(execution_type, weekday, hhmm, schedule_shard(strategy_id)),
        GSI2_SK: f"{user_id}#{strategy_id}",
    }


# Execution records: the spec's EXECUTION_ENTRY#strategy#YYYYMMDD, and their kin for exits, the
# position watch's closes (qualified by account, leg and reason) and re-runs (suffixed).
def execution(execution_type: str, strategy_id: str, day: date, *qualifiers: str) -> str:
    return "#".join((f"EXECUTION_{execution_type}", strategy_id, f"{day:%Y%m%d}", *qualifiers))


def executions_of(execution_type: str, strategy_id: str | None = None) -> str:
    return (
        f"EXECUTION_{execution_type}#"
        if strategy_id is None
        else f"EXECUTION_{execution_type}#{strategy_id}#"
    )


def again(key: str, qualifier: str) -> str:
    return f"{key}#{qualifier}"


def order(execution_date: str, tag: str) -> str:
    """execution_date: YYYY-MM-DD, the IST trading day of the execution that sent it."""
    return f"{orders_on(date.fromisoformat(execution_date))}{tag}"


def orders_on(day: date | None) -> str:
    return "ORDER#" if day is None else f"ORDER#{day:%Y%m%d}#"


# Open positions across every user, for the minute-by-minute stop-loss watch: a sparse GSI2
# partition set (an item is in it only while its quantity is not zero), sharded like the schedule
# so one watch costs the same SCHEDULE_SHARDS queries however many users hold positions.
def positions_of(strategy_id: str, client_id: str | None = None) -> str:
    return (
        f"POSITION#{strategy_id}#" if client_id is None else f"POSITION#{strategy_id}#{client_id}#"
    )


def position(strategy_id: str, client_id: str, leg_no: int, tradingsymbol: str) -> str:
    return f"{positions_of(strategy_id, client_id)}{leg_no:02d}#{tradingsymbol}"


def all_positions() -> str:
    return "POSITION#"


def settlement(position_key: str, expiry: date) -> str:
    """An expired contract the exchange settled, beside the position it closed."""
    return f"SETTLEMENT#{position_key}#{expiry.isoformat()}"


def open_positions(shard: int) -> str:
    return f"OPEN_POSITIONS#{shard:02d}"


def open_position_index(user_id: str, strategy_id: str, sort_key: str) -> dict[str, str]:
    return {
        GSI2_PK: open_positions(schedule_shard(f"{user_id}#{strategy_id}")),
        GSI2_SK: f"{user_id}#{sort_key}",
    }


# Orders by the 5-minute bucket they were placed in, for the duplicate-order reconciliation across
# every user (GSI1, overloaded): the last few minutes cost 2 buckets x SCHEDULE_SHARDS queries.
ORDER_BUCKET_MINUTES = 5


def order_bucket_start(moment: datetime) -> str:
    """The UTC minute (YYYYMMDDHHMM) starting the ORDER_BUCKET_MINUTES bucket `moment` falls in."""
    utc = moment.astimezone(UTC)
    return utc.replace(
        minute=utc.minute - utc.minute % ORDER_BUCKET_MINUTES, second=0, microsecond=0
    ).strftime("%Y%m%d%H%M")


def order_bucket(bucket_start: str, shard: int) -> str:
    """bucket_start: YYYYMMDDHHMM (UTC) of the bucket's first minute."""
    return f"ORDERS#{bucket_start}#{shard:02d}"


def order_index(bucket_start: str, user_id: str, client_id: str, sort_key: str) -> dict[str, str]:
    return {
        GSI1_PK: order_bucket(bucket_start, schedule_shard(f"{user_id}#{client_id}")),
        GSI1_SK: f"{user_id}#{sort_key}",
    }


def duplicate_order(order_key: str, broker_order_id: str) -> str:
    """An extra copy of one of our orders that reached the broker, recorded beside the order."""
    return f"{order_key}#DUPLICATE#{broker_order_id}"


def working_orders(shard: int) -> str:
    return f"WORKING_ORDERS#{shard:02d}"


def working_order_index(user_id: str, client_id: str, sort_key: str) -> dict[str, str]:
    """GSI2, sparse: an order is in it while it may still fill (INTENT, OPEN, TRIGGER_PENDING), so
    reconciliation follows it however long it rests, not only in the last few minutes."""
    return {
        GSI2_PK: working_orders(schedule_shard(f"{user_id}#{client_id}")),
        GSI2_SK: f"{user_id}#{sort_key}",
    }


def metrics_of(strategy_id: str, client_id: str | None = None) -> str:
    """Performance metrics live beside the strategy and allocation, never inside them: the
    configuration's versioned writes would otherwise overwrite what executions add."""
    return f"METRICS#{strategy_id}" if client_id is None else f"METRICS#{strategy_id}#{client_id}"


# Scheduled execution records waiting for an executor (and MISSED ones whose alert is not yet on
# the bus): a sparse GSI2 partition set per trading day, sharded like the schedule.
def awaiting_executions(day: date, shard: int) -> str:
    return f"AWAITING_EXECUTIONS#{day:%Y%m%d}#{shard:02d}"


# The engine's own marks against doubled or silently missed runs (adapters/dynamodb/run_marks.py).
PLATFORM = "#PLATFORM"  # the engine's own partition: no Cognito sub starts with "#"


def trigger_watermark(day: date) -> str:
    return f"TRIGGER_WATERMARK#{day:%Y%m%d}"


def run_claim(execution_type: str, strategy_id: str) -> str:
    return f"RUN_CLAIM#{execution_type}#{strategy_id}"


def manual_answer(idempotency_key: str) -> str:
    return f"MANUAL_ANSWER#{idempotency_key}"
