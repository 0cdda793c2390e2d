"""Discovering everything due at one slot (Monday 09:30 entries), counted in DynamoDB requests, for
1, 100 and 1,000 users with 10 strategies each, against the spec's per-user design measured the same
way; and orders planned per second for 10,000 strategies.

    .venv/bin/python -m benchmarks.discovery

The spec's design cannot run as written (its GSI2 query has no partition key), so its per-user form
is measured: one query per user (`user_id = U AND begins_with(sort_key, "ENTRY#09:30#")`), after
finding the users, which DynamoDB can only do with a scan. Runs against moto, in this process.
"""

from __future__ import annotations

import copy
import os
import time
from datetime import datetime
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-south-1",
    }
)

import boto3
from moto import mock_aws

from local_platform.wiring import create_table
from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository, serialize
from shared_utils.adapters.dynamodb.schedule_items import ScheduleTable, schedule_items
from shared_utils.configuration.allocation_math import calculated_totals
from shared_utils.configuration.schedule import compile_schedule
from shared_utils.domain.clock import IST
from shared_utils.domain.enums import AccountMode, BrokerName, ExecutionType, ExpiryType, Weekday
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.domain.models import (
    Allocation,
    AllocationConfig,
    ExecutionSchedule,
    Leg,
    Strategy,
)
from shared_utils.engine.order_planning import plan_entry
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from shared_utils.market.expiries import ExpiryCalendar
from shared_utils.market.strike_selection import select_strikes
from tests.journey import ALLOCATIONS, LEGS, STRATEGY

STRATEGIES_PER_USER = 10


class CountingClient:
    """Counts the requests a client sends."""

    def __init__(self, client):
        self._client, self.requests = client, 0

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def counted(*args, **kwargs):
            self.requests += 1
            return method(*args, **kwargs)

        return counted


def iron_condor(strategy_id: str) -> tuple[Strategy, dict[int, Leg], list[Allocation]]:
    legs = {
        leg["leg_no"]: Leg(**leg, strategy_id=strategy_id, created_at="t", updated_at="t")
        for leg in copy.deepcopy(LEGS)["legs"]
    }
    allocations = [
        Allocation(
            **raw,
            strategy_id=strategy_id,
            broker=BrokerName.PAPER,
            mode=AccountMode.PAPER,
            performance_metrics={},
            calculated_totals=calculated_totals(
                AllocationConfig.model_validate(raw["allocation_config"]), legs
            ),
            created_at="t",
            updated_at="t",
        )
        for raw in copy.deepcopy(ALLOCATIONS)["allocations"]
    ]
    strategy = Strategy(
        **STRATEGY,
        strategy_id=strategy_id,
        performance_metrics={},
        created_at="t",
        updated_at="t",
        version=1,
        execution_schedule=ExecutionSchedule.model_validate(
            {k: STRATEGY[k] for k in ("entry_time", "exit_time", "entry_days", "exit_days")}
        ),
    )
    return strategy, legs, allocations


def load(client: Any, users: int) -> None:
    requests = []
    for u in range(users):
        for s in range(STRATEGIES_PER_USER):
            strategy, legs, allocations = iron_condor(f"s-{u}-{s}")
            requests += [
                {"PutRequest": {"Item": serialize(item)}}
                for item in schedule_items(f"user-{u}", strategy, legs, allocations)
            ]
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={"bench": requests[start : start + 25]})


def ours(client: Any) -> tuple[int, int]:
    counting = CountingClient(client)
    schedule = ScheduleTable(ConfigurationRepository(counting, "bench"))
    found = schedule.due_at(ExecutionType.ENTRY, Weekday.MONDAY, "09:30")
    return counting.requests, len(found.records)


def per_user(client: Any) -> tuple[int, int]:
    counting = CountingClient(client)
    users, request = set(), {"TableName": "bench", "ProjectionExpression": "user_id"}
    while True:  # the spec keeps no list of users: finding them is a scan
        page = counting.scan(**request)
        users |= {item["user_id"]["S"] for item in page["Items"]}
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    repository, found = ConfigurationRepository(counting, "bench"), 0
    for user in sorted(users):
        items, _ = repository.query_prefix(user, keys.schedule_prefix("ENTRY", "09:30"))
        found += sum(1 for item in items if item["weekday"] == "MONDAY")
    return counting.requests, found


def planning_rate(strategies: int = 10_000) -> tuple[float, float]:
    """(orders, strategies) planned per second."""
    catalog, calendar = built_in_catalog(), built_in_calendar()
    at = datetime(2026, 3, 2, 9, 30, tzinfo=IST)
    expiry = ExpiryCalendar(calendar).resolve(catalog.get("NIFTY"), ExpiryType.WEEKLY, 0, at.date())
    chain = SimulatedMarket(catalog, calendar).chain("NIFTY", expiry.date, at)
    strategy, legs, allocations = iron_condor("s")
    plan = compile_schedule("u", strategy, legs, allocations)[0].plan
    started, orders = time.perf_counter(), 0
    for n in range(strategies):
        strikes = select_strikes(legs.values(), lambda _leg: chain)
        orders += len(
            plan_entry(
                f"EXECUTION_ENTRY#s-{n}#20260302",
                plan,
                strikes,
                dict.fromkeys(legs, expiry),
                catalog,
            )
        )
    elapsed = time.perf_counter() - started
    return orders / elapsed, strategies / elapsed


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users",
        type=int,
        nargs="+",
        default=[1, 100, 1000],
        help="user counts to measure (moto makes 1,000 users take many minutes)",
    )
    arguments = parser.parse_args()
    print(
        f"{'users':>6} {'strategies':>10} {'due':>6} {'ours (requests)':>16} {'per-user (requests)':>20} {'ratio':>7}",
        flush=True,
    )
    for users in arguments.users:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="ap-south-1")
            create_table(client, "bench")
            load(client, users)
            our_requests, our_found = ours(client)
            their_requests, their_found = per_user(client)
            assert our_found == their_found == users * STRATEGIES_PER_USER
            print(
                f"{users:>6} {users * STRATEGIES_PER_USER:>10} {our_found:>6} {our_requests:>16} {their_requests:>20} "
                f"{their_requests / our_requests:>6.1f}x",
                flush=True,
            )
    orders_per_second, strategies_per_second = planning_rate()
    print(
        f"planning 10,000 strategies: {orders_per_second:,.0f} orders/s ({strategies_per_second:,.0f} strategies/s, "
        f"strikes selected and orders planned, chain priced once)"
    )


if __name__ == "__main__":
    main()
