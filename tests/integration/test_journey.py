"""The spec's journey 1, step by step, with its exact payloads."""

import json

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from tests.conftest import TABLE_NAME
from tests.journey import BASKET, STRATEGY


def test_step_1_basket_is_created_with_the_platforms_fields(alice):
    reply = alice.post("/options/baskets", BASKET)
    assert reply.status == 201
    basket = reply.body
    assert basket["basket_id"]
    assert basket["basket_name"] == "Conservative Income"
    assert basket["created_by_type"] == "USER"
    assert basket["creator_user_id"] == "sub-alice"
    assert basket["status"] == "ACTIVE"
    assert basket["current_capital"] == 500000
    assert basket["deployable_capital"] == 400000
    assert set(basket["performance_metrics"].values()) == {0}
    assert basket["version"] == 1
    assert basket["created_at"].endswith("Z")


def test_step_2_strategy_in_basket_derives_intraday_and_schedule(alice):
    basket = alice.post("/options/baskets", BASKET).body
    reply = alice.post(f"/options/baskets/{basket['basket_id']}/strategies", STRATEGY)
    assert reply.status == 201
    strategy = reply.body
    assert strategy["basket_id"] == basket["basket_id"]
    assert strategy["is_intra_day"] is False
    assert strategy["execution_schedule"] == {
        "entry_time": "09:30",
        "exit_time": "15:20",
        "entry_days": ["MONDAY"],
        "exit_days": ["FRIDAY"],
        "timezone": "IST",
    }
    assert alice.get(f"/options/baskets/{basket['basket_id']}").body["strategy_count"] == 1


def test_step_3_and_4_give_the_specs_calculated_totals(iron_condor, alice):
    _, strategy = iron_condor
    assert [leg["leg_no"] for leg in strategy["legs"]] == [1, 2, 3, 4]
    totals = {a["client_id"]: a["calculated_totals"] for a in strategy["allocations"]}
    assert totals["ZERODHA123"]["total_lots_per_execution"] == 8
    assert totals["ANGELONE456"]["total_lots_per_execution"] == 10
    assert totals["ZERODHA123"]["lots_per_leg"] == {"1": 3, "2": 3, "3": 1, "4": 1}
    assert totals["ANGELONE456"]["legs_enabled"] == 4
    assert set(totals["ZERODHA123"]) == {
        "total_lots_per_execution",
        "legs_enabled",
        "lots_per_leg",
        "estimated_margin_required",
    }


def test_allocation_summary_counts_lots_per_broker_and_per_leg(iron_condor, alice):
    _, strategy = iron_condor
    summary = alice.get(f"/options/strategies/{strategy['strategy_id']}/allocations/summary").body
    assert summary["total_lots_per_execution"] == 18
    assert summary["brokers_involved"] == ["ZERODHA123", "ANGELONE456"]
    assert {b["client_id"]: b["total_lots_per_execution"] for b in summary["brokers"]} == {
        "ZERODHA123": 8,
        "ANGELONE456": 10,
    }
    assert {leg["leg_no"]: leg["lots_by_client"] for leg in summary["legs"]} == {
        1: {"ZERODHA123": 3, "ANGELONE456": 1},
        2: {"ZERODHA123": 3, "ANGELONE456": 1},
        3: {"ZERODHA123": 1, "ANGELONE456": 4},
        4: {"ZERODHA123": 1, "ANGELONE456": 4},
    }
    # NIFTY contracts expiring in March 2026 trade in lots of 65.
    assert summary["total_quantity_per_execution"] == 18 * 65
    assert summary["brokers"][0]["quantity_per_leg"] == {"1": 195, "2": 195, "3": 65, "4": 65}


def test_strategy_and_basket_reads_include_their_children(iron_condor, alice):
    basket, strategy = iron_condor
    assert len(strategy["legs"]) == 4
    assert len(strategy["allocations"]) == 2
    detail = alice.get(f"/options/baskets/{basket['basket_id']}").body
    assert [s["strategy_id"] for s in detail["strategies"]] == [strategy["strategy_id"]]
    listed = alice.get(f"/options/strategies?basket_id={basket['basket_id']}").body
    assert [s["strategy_id"] for s in listed["items"]] == [strategy["strategy_id"]]
    assert listed["next_token"] is None


def test_step_5_schedule_items_answer_both_the_users_and_the_engines_query(iron_condor, dynamodb):
    _, strategy = iron_condor
    repository = ConfigurationRepository(dynamodb, TABLE_NAME)
    mine, _ = repository.query_prefix("sub-alice", keys.schedule_prefix("ENTRY", "09:30"))
    assert [item["strategy_id"] for item in mine] == [strategy["strategy_id"]]
    exits, _ = repository.query_prefix("sub-alice", keys.schedule_prefix("EXIT", "15:20"))
    assert [item["weekday"] for item in exits] == ["FRIDAY"]

    shard = keys.schedule_shard(strategy["strategy_id"])
    due = repository.query_schedule_slot("ENTRY", "MONDAY", "09:30", shard)
    assert len(due) == 1
    entry = due[0]
    assert entry["total_lots"] == 18
    assert entry["total_legs"] == 4
    assert entry["brokers_involved"] == ["ZERODHA123", "ANGELONE456"]
    plan = entry["plan"]
    assert [a["lots_per_leg"] for a in plan["allocations"]] == [
        {"1": 3, "2": 3, "3": 1, "4": 1},
        {"1": 1, "2": 1, "3": 4, "4": 4},
    ]
    assert [leg["leg_no"] for leg in plan["legs"]] == [1, 2, 3, 4]
    assert all(a["mode"] == "PAPER" for a in plan["allocations"])
    other_shards = [s for s in range(keys.SCHEDULE_SHARDS) if s != shard]
    assert all(
        not repository.query_schedule_slot("ENTRY", "MONDAY", "09:30", s) for s in other_shards
    )
    assert not repository.query_schedule_slot("ENTRY", "TUESDAY", "09:30", shard)


def test_the_openapi_document_is_generated_from_the_models(alice):
    reply = alice.get("/openapi.json")
    assert reply.status == 200
    document = reply.body
    assert "/options/strategies/{strategy_id}/allocations/advanced" in document["paths"]
    schemas = document["components"]["schemas"]
    assert "LegOverride" in schemas
    config = next(schema for name, schema in schemas.items() if name.startswith("AllocationConfig"))
    assert config["properties"]["strategy_lots_multiplier"]["anyOf"][0]["type"] == "number"
    strategy = next(schema for name, schema in schemas.items() if name.startswith("StrategyCreate"))
    assert "NIFTY" in strategy["properties"]["underlying"]["enum"]
    create = document["paths"]["/options/baskets"]["post"]
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "HTTPValidationError" not in schemas
    assert document["components"]["securitySchemes"]["CognitoIdToken"]["scheme"] == "bearer"
    json.dumps(document)


def test_a_strategy_level_allocation_trades_every_leg_times_the_multiplier(iron_condor, alice):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert (
        alice.post(
            "/options/broker-accounts", {"client_id": "UPSTOX789", "broker": "UPSTOX"}
        ).status
        == 201
    )
    reply = alice.post(
        f"/options/strategies/{sid}/allocations",
        {
            "client_id": "UPSTOX789",
            "priority": 3,
            "strategy_lots_multiplier": 1.5,
            "risk_limits": {"max_daily_trades": 5},
        },
    )
    assert reply.status == 201, reply.body
    assert reply.body["allocation_config"]["type"] == "STRATEGY_LEVEL"
    assert reply.body["calculated_totals"]["lots_per_leg"] == {"1": 3, "2": 3, "3": 3, "4": 3}
    assert (
        alice.get(f"/options/strategies/{sid}/allocations/summary").body["total_lots_per_execution"]
        == 30
    )
