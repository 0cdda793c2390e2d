"""Changes after creation: versions, deletes, and the rules that keep the aggregate true."""

import copy

from boto3.dynamodb.types import TypeDeserializer

from shared_utils.adapters.dynamodb import keys
from tests.conftest import all_items
from tests.journey import BASKET, LEGS, STRATEGY


def _schedule_keys(dynamodb, user="sub-alice"):
    return sorted(
        item["sort_key"]["S"]
        for item in all_items(dynamodb)
        if item["user_id"]["S"] == user and item.get("entity_type", {}).get("S") == "SCHEDULE"
    )


def test_a_stale_version_is_a_409_and_changes_nothing(alice, dynamodb):
    basket = alice.post("/options/baskets", BASKET).body
    path = f"/options/baskets/{basket['basket_id']}"
    updated = alice.put(path, {"basket_name": "Renamed", "version": 1})
    assert updated.status == 200
    assert updated.body["version"] == 2
    before = all_items(dynamodb)
    stale = alice.put(path, {"basket_name": "Lost update", "version": 1})
    assert stale.status == 409
    assert "version 2" in stale.error["message"]
    assert all_items(dynamodb) == before
    assert alice.get(path).body["basket_name"] == "Renamed"


def test_basket_update_recomputes_deployable_capital(alice):
    basket = alice.post("/options/baskets", BASKET).body
    updated = alice.put(
        f"/options/baskets/{basket['basket_id']}", {"deployable_percentage": 50}
    ).body
    assert updated["deployable_capital"] == 250000


def test_a_basket_with_active_strategies_cannot_be_deleted(iron_condor, alice):
    basket, strategy = iron_condor
    path = f"/options/baskets/{basket['basket_id']}"
    reply = alice.delete(path)
    assert reply.status == 409
    assert strategy["strategy_id"] in reply.error["message"]
    assert (
        alice.put(f"/options/strategies/{strategy['strategy_id']}", {"status": "PAUSED"}).status
        == 200
    )
    assert alice.delete(path).status == 204
    assert alice.get(path).status == 404
    survivor = alice.get(f"/options/strategies/{strategy['strategy_id']}").body
    assert survivor["basket_id"] is None
    assert survivor["status"] == "PAUSED"


def test_a_basket_holds_at_most_ten_strategies(alice):
    basket = alice.post("/options/baskets", BASKET).body
    path = f"/options/baskets/{basket['basket_id']}/strategies"
    for n in range(10):
        assert alice.post(path, {**STRATEGY, "strategy_name": f"s{n}"}).status == 201
    reply = alice.post(path, {**STRATEGY, "strategy_name": "eleventh"})
    assert reply.status == 422
    assert reply.error["details"][0]["field"] == "basket_id"
    assert alice.get(f"/options/baskets/{basket['basket_id']}").body["strategy_count"] == 10


def test_deleting_a_strategy_removes_its_legs_allocations_and_schedule(
    iron_condor, alice, dynamodb
):
    basket, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert _schedule_keys(dynamodb)
    assert alice.delete(f"/options/strategies/{sid}").status == 204
    remaining = [item["sort_key"]["S"] for item in all_items(dynamodb)]
    assert not [key for key in remaining if sid in key]
    assert alice.get(f"/options/strategies/{sid}").status == 404
    assert alice.get(f"/options/baskets/{basket['basket_id']}").body["strategy_count"] == 0
    # The accounts are free again.
    assert alice.delete("/options/broker-accounts/ZERODHA123").status == 204


def test_an_allocated_broker_account_cannot_be_deleted(iron_condor, alice):
    reply = alice.delete("/options/broker-accounts/ANGELONE456")
    assert reply.status == 409
    assert [a["client_id"] for a in alice.get("/options/broker-accounts").body["items"]] == [
        "ANGELONE456",
        "ZERODHA123",
    ]


def test_changing_times_and_days_moves_the_schedule(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert _schedule_keys(dynamodb) == [f"ENTRY#09:30#{sid}#MONDAY", f"EXIT#15:20#{sid}#FRIDAY"]
    reply = alice.put(
        f"/options/strategies/{sid}", {"entry_time": "09:45", "entry_days": ["monday", "wednesday"]}
    )
    assert reply.status == 200, reply.body
    assert _schedule_keys(dynamodb) == [
        f"ENTRY#09:45#{sid}#MONDAY",
        f"ENTRY#09:45#{sid}#WEDNESDAY",
        f"EXIT#15:20#{sid}#FRIDAY",
    ]


def test_pausing_stops_entries_but_keeps_exits(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    alice.put(f"/options/strategies/{sid}", {"status": "PAUSED"})
    assert _schedule_keys(dynamodb) == [f"EXIT#15:20#{sid}#FRIDAY"]
    alice.put(f"/options/strategies/{sid}", {"status": "ARCHIVED"})
    assert _schedule_keys(dynamodb) == []
    alice.put(f"/options/strategies/{sid}", {"status": "ACTIVE"})
    assert len(_schedule_keys(dynamodb)) == 2


def test_switching_to_intraday_rederives_is_intra_day_and_checks_the_times(iron_condor, alice):
    _, strategy = iron_condor
    path = f"/options/strategies/{strategy['strategy_id']}"
    refused = alice.put(path, {"product": "MIS"})
    assert refused.status == 422
    assert refused.error["details"][0]["field"] == "exit_days"
    accepted = alice.put(path, {"product": "MIS", "exit_days": ["MONDAY"]})
    assert accepted.status == 200
    assert accepted.body["is_intra_day"] is True


def test_a_leg_update_moves_strategy_level_totals_and_the_plan(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    alice.post("/options/broker-accounts", {"client_id": "FYERS1", "broker": "FYERS"})
    alice.post(
        f"/options/strategies/{sid}/allocations",
        {"client_id": "FYERS1", "strategy_lots_multiplier": 2},
    )
    leg = alice.put(f"/options/strategies/{sid}/legs/1", {"lots": 5, "version": 1})
    assert leg.status == 200
    assert leg.body["lots"] == 5
    assert leg.body["version"] == 2
    allocations = {
        a["client_id"]: a for a in alice.get(f"/options/strategies/{sid}/allocations").body["items"]
    }
    assert allocations["FYERS1"]["calculated_totals"]["lots_per_leg"]["1"] == 10
    assert (
        allocations["ZERODHA123"]["calculated_totals"]["lots_per_leg"]["1"] == 3
    )  # leg level: its own lots
    assert alice.put(f"/options/strategies/{sid}/legs/1", {"lots": 6, "version": 1}).status == 409


def test_a_strategy_level_multiplier_that_stops_giving_whole_lots_blocks_the_leg_change(
    iron_condor, alice, dynamodb
):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    alice.post("/options/broker-accounts", {"client_id": "FYERS1", "broker": "FYERS"})
    alice.post(
        f"/options/strategies/{sid}/allocations",
        {"client_id": "FYERS1", "strategy_lots_multiplier": 1.5},
    )
    before = all_items(dynamodb)
    reply = alice.put(f"/options/strategies/{sid}/legs/1", {"lots": 3})
    assert reply.status == 422
    assert (
        reply.error["details"][0]["field"]
        == "allocations.FYERS1.allocation_config.strategy_lots_multiplier"
    )
    assert all_items(dynamodb) == before


def test_disabling_a_leg_takes_it_out_of_every_account(iron_condor, alice):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert alice.put(f"/options/strategies/{sid}/legs/4", {"enabled": False}).status == 200
    summary = alice.get(f"/options/strategies/{sid}/allocations/summary").body
    assert summary["total_lots_per_execution"] == 18 - 1 - 4


def test_deleting_a_leg_drops_it_from_leg_level_allocations(iron_condor, alice):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert alice.delete(f"/options/strategies/{sid}/legs/4").status == 204
    allocations = {
        a["client_id"]: a for a in alice.get(f"/options/strategies/{sid}/allocations").body["items"]
    }
    assert set(allocations["ZERODHA123"]["allocation_config"]["leg_overrides"]) == {"1", "2", "3"}
    assert allocations["ANGELONE456"]["calculated_totals"]["total_lots_per_execution"] == 6
    assert alice.get(f"/options/strategies/{sid}/legs/4").status in (404, 405)


def test_a_leg_number_that_exists_is_a_409(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    before = all_items(dynamodb)
    reply = alice.post(
        f"/options/strategies/{strategy['strategy_id']}/legs", {"legs": [LEGS["legs"][0]]}
    )
    assert reply.status == 409
    assert reply.error["details"][0]["field"] == "legs[0].leg_no"
    assert all_items(dynamodb) == before


def test_a_seventh_leg_is_refused(alice):
    strategy = alice.post("/options/strategies", STRATEGY).body
    legs = copy.deepcopy(LEGS)
    legs["legs"] += [dict(LEGS["legs"][0], leg_no=5), dict(LEGS["legs"][1], leg_no=6)]
    sid = strategy["strategy_id"]
    assert alice.post(f"/options/strategies/{sid}/legs", legs).status == 201
    seventh = alice.post(
        f"/options/strategies/{sid}/legs", {"legs": [dict(LEGS["legs"][0], leg_no=6)]}
    )
    assert seventh.status == 409


def test_updating_an_allocation_recomputes_its_totals_and_priority_index(
    iron_condor, alice, dynamodb
):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    reply = alice.put(
        f"/options/strategies/{sid}/allocations/ZERODHA123",
        {"priority": 7, "leg_overrides": {"1": {"lots": 2}, "2": {"lots": 2}}},
    )
    assert reply.status == 200, reply.body
    assert reply.body["calculated_totals"]["total_lots_per_execution"] == 4
    assert reply.body["version"] == 2
    item = next(
        i for i in all_items(dynamodb) if i["sort_key"]["S"] == keys.allocation(sid, "ZERODHA123")
    )
    assert item["GSI1PK"]["S"] == sid
    assert item["GSI1SK"]["S"] == "ALLOCATION#007#ZERODHA123"
    assert (
        alice.get(f"/options/strategies/{sid}/allocations/summary").body["total_lots_per_execution"]
        == 14
    )


def test_removing_every_allocation_removes_the_entries_but_not_the_exits(
    iron_condor, alice, dynamodb
):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert alice.delete(f"/options/strategies/{sid}/allocations/ZERODHA123").status == 204
    assert alice.delete(f"/options/strategies/{sid}/allocations/ANGELONE456").status == 204
    assert alice.delete(f"/options/strategies/{sid}/allocations/ANGELONE456").status == 404
    assert _schedule_keys(dynamodb) == [f"EXIT#15:20#{sid}#FRIDAY"]


def test_what_get_returned_can_be_put_back_and_identity_must_match(iron_condor, alice):
    basket, strategy = iron_condor
    sid = strategy["strategy_id"]
    for path in (
        f"/options/baskets/{basket['basket_id']}",
        f"/options/strategies/{sid}/legs/1",
        f"/options/strategies/{sid}/allocations/ZERODHA123",
    ):
        current = (
            alice.get(path).body
            if "allocations" not in path
            else next(
                a
                for a in alice.get(f"/options/strategies/{sid}/allocations").body["items"]
                if a["client_id"] == "ZERODHA123"
            )
        )
        if "legs/1" in path:
            current = next(
                leg
                for leg in alice.get(f"/options/strategies/{sid}/legs").body["items"]
                if leg["leg_no"] == 1
            )
        current.pop("strategies", None)
        assert alice.put(path, current).status == 200, (path, alice.put(path, current).body)
    whole = {
        k: v
        for k, v in alice.get(f"/options/strategies/{sid}").body.items()
        if k not in ("legs", "allocations")
    }
    assert alice.put(f"/options/strategies/{sid}", whole).status == 200
    wrong = alice.put(f"/options/strategies/{sid}/legs/1", {"leg_no": 2, "lots": 3})
    assert wrong.status == 422
    assert wrong.error["details"][0]["field"] == "leg_no"
    moved = alice.put(f"/options/strategies/{sid}", {"basket_id": "another-basket"})
    assert moved.status == 422
    assert moved.error["details"][0]["field"] == "basket_id"


def test_an_allocation_changed_by_a_leg_deletion_gets_a_new_version(iron_condor, alice):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    read = next(
        a
        for a in alice.get(f"/options/strategies/{sid}/allocations").body["items"]
        if a["client_id"] == "ZERODHA123"
    )
    assert alice.delete(f"/options/strategies/{sid}/legs/4").status == 204
    stale = alice.put(
        f"/options/strategies/{sid}/allocations/ZERODHA123",
        {"allocation_config": read["allocation_config"], "version": read["version"]},
    )
    assert stale.status == 409


def test_the_exit_plan_reaches_paused_accounts_and_disabled_legs(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    alice.put(f"/options/strategies/{sid}/allocations/ZERODHA123", {"status": "PAUSED"})
    alice.put(f"/options/strategies/{sid}/legs/1", {"enabled": False})
    plans = {
        i["sort_key"]["S"]: TypeDeserializer().deserialize(i["plan"])
        for i in all_items(dynamodb)
        if "plan" in i
    }
    entry, exit_ = plans[f"ENTRY#09:30#{sid}#MONDAY"], plans[f"EXIT#15:20#{sid}#FRIDAY"]
    assert [a["client_id"] for a in entry["allocations"]] == ["ANGELONE456"]
    assert [leg["leg_no"] for leg in entry["legs"]] == [2, 3, 4]
    assert [a["client_id"] for a in exit_["allocations"]] == ["ZERODHA123", "ANGELONE456"]
    assert [leg["leg_no"] for leg in exit_["legs"]] == [1, 2, 3, 4]


def test_quantities_follow_the_lot_size_in_force_when_read(iron_condor, alice, monkeypatch):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert alice.get(f"/options/strategies/{sid}/allocations/summary").body["lot_size"] == 65
    from lambda_functions import composition

    monkeypatch.setenv(
        "PLATFORM_CLOCK_START", "2025-06-02T09:25:00+05:30"
    )  # NIFTY contracts then: 75
    composition.configuration.cache_clear()
    summary = alice.get(f"/options/strategies/{sid}/allocations/summary").body
    assert summary["lot_size"] == 75
    assert summary["total_quantity_per_execution"] == 18 * 75
    assert {b["client_id"]: b["total_quantity_per_execution"] for b in summary["brokers"]} == {
        "ZERODHA123": 600,
        "ANGELONE456": 750,
    }


def test_changing_how_a_leg_picks_its_strike_keeps_or_resets_the_value_as_it_should(
    iron_condor, alice
):
    _, strategy = iron_condor
    path = f"/options/strategies/{strategy['strategy_id']}/legs/1"
    configured = alice.put(
        path, {"strike_selection_config": {"method": "DELTA", "delta_value": 0.16}}
    ).body
    assert configured["entry_by"] == "DELTA"
    assert configured["strike_selection_config"]["delta_value"] == 0.16
    same = alice.put(path, {"entry_by": "DELTA", "lots": 3}).body
    assert same["strike_selection_config"]["delta_value"] == 0.16
    other = alice.put(path, {"entry_by": "ATM_OFFSET"}).body
    assert other["strike_selection_config"] == {
        "method": "ATM_OFFSET",
        "delta_value": None,
        "strike_distance": None,
        "atm_offset": None,
        "premium": None,
    }
    premium = alice.put(path, {"entry_by": "PREMIUM"})
    assert premium.status == 422
    assert premium.error["details"][0]["field"] == "strike_selection_config"
