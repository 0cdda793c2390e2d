"""The compiled schedule items: who is due when, with everything the engine needs."""

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.schedule_items import schedule_items as compile_schedule
from shared_utils.configuration.allocation_math import calculated_totals
from shared_utils.domain.models import Allocation, AllocationConfig, Strategy
from tests.journey import ALLOCATIONS, STRATEGY
from tests.unit.test_allocation_math import NOW, journey_legs


def strategy(**changes):
    data = {**STRATEGY, "entry_days": ["MONDAY", "WEDNESDAY"], **changes}
    return Strategy(
        **data,
        strategy_id="strategy-789",
        execution_schedule={
            k: data[k] for k in ("entry_time", "exit_time", "entry_days", "exit_days")
        },
        performance_metrics={},
        created_at=NOW,
        updated_at=NOW,
        version=3,
    )


def allocations(status="ACTIVE"):
    legs = journey_legs()
    return [
        Allocation(
            **{**raw, "status": status},
            strategy_id="strategy-789",
            broker="ZERODHA",
            mode="PAPER",
            performance_metrics={},
            calculated_totals=calculated_totals(
                AllocationConfig.model_validate(raw["allocation_config"]), legs
            ),
            created_at=NOW,
            updated_at=NOW,
        )
        for raw in ALLOCATIONS["allocations"]
    ]


def test_one_item_per_execution_type_and_weekday_with_the_specs_prefixes():
    items = compile_schedule("user-123", strategy(), journey_legs(), allocations())
    assert sorted(item["sort_key"] for item in items) == [
        "ENTRY#09:30#strategy-789#MONDAY",
        "ENTRY#09:30#strategy-789#WEDNESDAY",
        "EXIT#15:20#strategy-789#FRIDAY",
    ]
    monday = next(i for i in items if i["sort_key"].endswith("MONDAY"))
    shard = keys.schedule_shard("strategy-789")
    assert monday["GSI2PK"] == f"SLOT#ENTRY#MONDAY#09:30#{shard:02d}"
    assert monday["GSI2SK"] == "user-123#strategy-789"
    assert monday["total_lots"] == 18
    assert monday["brokers_involved"] == [
        "ZERODHA123",
        "ANGELONE456",
    ]
    assert monday["plan"]["user_id"] == "user-123"


def test_no_entries_without_an_active_allocation_and_no_schedule_when_archived():
    entries = lambda items: [i for i in items if i["execution_type"] == "ENTRY"]  # noqa: E731
    assert entries(compile_schedule("u", strategy(), journey_legs(), allocations("PAUSED"))) == []
    assert entries(compile_schedule("u", strategy(), journey_legs(), [])) == []
    assert compile_schedule("u", strategy(status="ARCHIVED"), journey_legs(), allocations()) == []
    paused = compile_schedule("u", strategy(status="PAUSED"), journey_legs(), allocations())
    assert [i["execution_type"] for i in paused] == ["EXIT"]
    assert compile_schedule("u", strategy(), {}, allocations()) == []


def test_disabled_legs_are_left_out_of_the_plan():
    legs = journey_legs()
    legs[2] = legs[2].model_copy(update={"enabled": False})
    items = compile_schedule("u", strategy(), legs, allocations())
    assert [leg["leg_no"] for leg in items[0]["plan"]["legs"]] == [1, 3, 4]


def test_shards_are_stable_and_spread():
    shards = [keys.schedule_shard(f"strategy-{n}") for n in range(4000)]
    assert shards[:50] == [keys.schedule_shard(f"strategy-{n}") for n in range(50)]
    counts = [shards.count(s) for s in range(keys.SCHEDULE_SHARDS)]
    assert min(counts) > 0.8 * len(shards) / keys.SCHEDULE_SHARDS


def test_the_plan_carries_the_strategys_entry_grace_and_an_older_plan_reads_the_default():
    from decimal import Decimal

    from shared_utils.configuration.schedule import ExecutionPlan

    items = compile_schedule("u", strategy(entry_grace_minutes=12), journey_legs(), allocations())
    assert {item["plan"]["entry_grace_minutes"] for item in items} == {12}
    assert strategy().entry_grace_minutes == 5
    # As the table hands a stored strategy back: a whole Decimal.
    assert strategy(entry_grace_minutes=Decimal(7)).entry_grace_minutes == 7
    older = {k: v for k, v in items[0]["plan"].items() if k != "entry_grace_minutes"}
    assert ExecutionPlan.model_validate(older).entry_grace_minutes == 5
