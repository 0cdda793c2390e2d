"""An update (PUT) changes the fields sent, nested objects included: a partial `risk_limits` changes
the limits it names and keeps the others (found by an attacker: one partial update used to remove
the trade cap, the position cap and the margin cap without a word). An object whose fields depend
on one choice (a strike selection's method, an allocation's type) is merged while the choice stays
and replaced whole when it changes; one sent without its choice is a 422 naming it, with nothing
written."""

from __future__ import annotations

import pytest

from tests.integration.test_hostile_input import tables

ACCOUNT = "ZERODHA123"
JOURNEY_LIMITS = {
    "max_daily_trades": 10,
    "max_daily_loss": 50000,
    "max_position_value": 500000,
    "max_margin_utilization": 70,
}


@pytest.fixture
def strategy_id(iron_condor):
    return iron_condor[1]["strategy_id"]


def allocation(api, strategy_id: str, client_id: str = ACCOUNT) -> dict:
    reply = api.get(f"/options/strategies/{strategy_id}/allocations")
    assert reply.status == 200, reply.body
    (found,) = [a for a in reply.body["items"] if a["client_id"] == client_id]
    return found


def leg(api, strategy_id: str, leg_no: int = 1) -> dict:
    reply = api.get(f"/options/strategies/{strategy_id}/legs")
    assert reply.status == 200, reply.body
    (found,) = [item for item in reply.body["items"] if item["leg_no"] == leg_no]
    return found


def put_allocation(api, strategy_id: str, body: dict):
    return api.put(f"/options/strategies/{strategy_id}/allocations/{ACCOUNT}", body)


def put_leg(api, strategy_id: str, body: dict, leg_no: int = 1):
    return api.put(f"/options/strategies/{strategy_id}/legs/{leg_no}", body)


def refused(api, dynamodb, method: str, path: str, body: dict, field: str) -> None:
    """A 422 naming `field` (or a field inside it), and not one item of any table changed."""
    before = tables(dynamodb)
    reply = api.call(method, path, body)
    assert reply.status == 422, reply.body
    named = [detail["field"] for detail in reply.error["details"]]
    assert any(f == field or f.startswith(f"{field}.") for f in named), named
    assert tables(dynamodb) == before


def test_the_journey_allocation_has_all_four_limits(alice, strategy_id):
    assert allocation(alice, strategy_id)["risk_limits"] == JOURNEY_LIMITS


def test_a_partial_risk_limits_changes_only_the_limit_sent(alice, strategy_id):
    reply = put_allocation(alice, strategy_id, {"risk_limits": {"max_daily_loss": 1000}})
    assert reply.status == 200, reply.body
    expected = {**JOURNEY_LIMITS, "max_daily_loss": 1000}
    assert reply.body["risk_limits"] == expected
    assert allocation(alice, strategy_id)["risk_limits"] == expected


def test_an_explicit_null_removes_only_that_limit(alice, strategy_id):
    reply = put_allocation(alice, strategy_id, {"risk_limits": {"max_daily_loss": None}})
    assert reply.status == 200, reply.body
    assert allocation(alice, strategy_id)["risk_limits"] == {
        **JOURNEY_LIMITS,
        "max_daily_loss": None,
    }


def test_an_empty_risk_limits_changes_nothing(alice, strategy_id):
    assert put_allocation(alice, strategy_id, {"risk_limits": {}}).status == 200
    assert allocation(alice, strategy_id)["risk_limits"] == JOURNEY_LIMITS


def test_a_bad_limit_or_a_null_risk_limits_writes_nothing(alice, dynamodb, strategy_id):
    path = f"/options/strategies/{strategy_id}/allocations/{ACCOUNT}"
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"risk_limits": {"max_daily_trades": 5, "max_daily_loss": -1}},
        "risk_limits.max_daily_loss",
    )
    refused(alice, dynamodb, "PUT", path, {"risk_limits": None}, "risk_limits")
    assert allocation(alice, strategy_id)["risk_limits"] == JOURNEY_LIMITS


def test_a_partial_execution_config_keeps_the_other_settings(alice, strategy_id):
    first = {"execution_config": {"execution_delay_ms": 250, "prefer_for_exits": False}}
    assert put_allocation(alice, strategy_id, first).status == 200
    reply = put_allocation(
        alice, strategy_id, {"execution_config": {"enable_auto_rebalance": True}}
    )
    assert reply.status == 200, reply.body
    assert allocation(alice, strategy_id)["execution_config"] == {
        "execution_delay_ms": 250,
        "prefer_for_entries": True,
        "prefer_for_exits": False,
        "enable_auto_rebalance": True,
    }


def test_allocation_config_takes_leg_overrides_whole_and_a_new_type_replaces_it(alice, strategy_id):
    """The type with every leg the account trades (or the multiplier)."""
    sizing = {"type": "LEG_LEVEL", "leg_overrides": {"1": {"lots": 2}, "2": {"lots": 2}}}
    reply = put_allocation(alice, strategy_id, {"allocation_config": sizing})
    assert reply.status == 200, reply.body
    stored = allocation(alice, strategy_id)
    assert stored["allocation_config"]["leg_overrides"] == {
        "1": {"lots": 2, "enabled": True, "notes": None},
        "2": {"lots": 2, "enabled": True, "notes": None},
    }
    assert stored["calculated_totals"]["total_lots_per_execution"] == 4
    # The limits are another object and are untouched by a change of sizing.
    assert stored["risk_limits"] == JOURNEY_LIMITS
    switched = {"allocation_config": {"type": "STRATEGY_LEVEL", "strategy_lots_multiplier": 2}}
    reply = put_allocation(alice, strategy_id, switched)
    assert reply.status == 200, reply.body
    assert reply.body["allocation_config"] == {
        "type": "STRATEGY_LEVEL",
        "leg_overrides": None,
        "strategy_lots_multiplier": 2,
    }
    same_type = {"allocation_config": {"type": "STRATEGY_LEVEL", "strategy_lots_multiplier": 3}}
    reply = put_allocation(alice, strategy_id, same_type)
    assert reply.status == 200, reply.body
    assert allocation(alice, strategy_id)["allocation_config"]["strategy_lots_multiplier"] == 3
    # The same type with the multiplier left out keeps it: 1 is the default of a new one only.
    reply = put_allocation(alice, strategy_id, {"allocation_config": {"type": "STRATEGY_LEVEL"}})
    assert reply.status == 200, reply.body
    assert allocation(alice, strategy_id)["allocation_config"]["strategy_lots_multiplier"] == 3


def test_an_allocation_config_without_its_type_writes_nothing(alice, dynamodb, strategy_id):
    path = f"/options/strategies/{strategy_id}/allocations/{ACCOUNT}"
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"allocation_config": {"leg_overrides": {"1": {"lots": 5}}}},
        "allocation_config.type",
    )
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"allocation_config": {"strategy_lots_multiplier": 2}},
        "allocation_config.type",
    )


def test_a_partial_position_sizing_keeps_the_other_fields(alice, strategy_id):
    # Leg 1 trades 2 lots, and its allocations 3 and 1: a cap of 4 fits them all.
    assert put_leg(alice, strategy_id, {"position_sizing": {"max_lots": 4}}).status == 200
    reply = put_leg(alice, strategy_id, {"position_sizing": {"lot_increment": 1}})
    assert reply.status == 200, reply.body
    expected = {"min_lots": 1, "max_lots": 4, "lot_increment": 1}
    assert leg(alice, strategy_id)["position_sizing"] == expected
    reply = put_leg(alice, strategy_id, {"position_sizing": {"max_lots": None}})
    assert reply.status == 200, reply.body
    assert leg(alice, strategy_id)["position_sizing"] == {**expected, "max_lots": None}


def test_a_partial_position_sizing_is_checked_merged(alice, dynamodb, strategy_id):
    """Merged, then validated whole: the kept fields still bind the ones sent."""
    assert put_leg(alice, strategy_id, {"position_sizing": {"max_lots": 4}}).status == 200
    path = f"/options/strategies/{strategy_id}/legs/1"
    # A minimum of 5 is above the cap of 4 that is kept.
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"position_sizing": {"min_lots": 5}},
        "position_sizing.max_lots",
    )
    # A cap of 1 is below the leg's 2 lots.
    refused(alice, dynamodb, "PUT", path, {"position_sizing": {"max_lots": 1}}, "lots")
    assert leg(alice, strategy_id)["position_sizing"] == {
        "min_lots": 1,
        "max_lots": 4,
        "lot_increment": 1,
    }


def test_the_same_strike_method_keeps_its_value_unless_sent(alice, strategy_id):
    delta = {"strike_selection_config": {"method": "DELTA", "delta_value": 0.3}}
    assert put_leg(alice, strategy_id, delta).status == 200
    reply = put_leg(alice, strategy_id, {"strike_selection_config": {"method": "DELTA"}})
    assert reply.status == 200, reply.body
    assert leg(alice, strategy_id)["strike_selection_config"]["delta_value"] == 0.3
    to_default = {"strike_selection_config": {"method": "DELTA", "delta_value": None}}
    assert put_leg(alice, strategy_id, to_default).status == 200
    assert leg(alice, strategy_id)["strike_selection_config"]["delta_value"] is None


def test_another_strike_method_replaces_the_selection_whole(alice, strategy_id):
    """The old method's value never lingers into the new one."""
    delta = {"strike_selection_config": {"method": "DELTA", "delta_value": 0.3}}
    assert put_leg(alice, strategy_id, delta).status == 200
    distance = {"strike_selection_config": {"method": "STRIKE_DISTANCE", "strike_distance": 100}}
    reply = put_leg(alice, strategy_id, distance)
    assert reply.status == 200, reply.body
    stored = leg(alice, strategy_id)
    assert stored["entry_by"] == "STRIKE_DISTANCE"
    assert stored["strike_selection_config"] == {
        "method": "STRIKE_DISTANCE",
        "delta_value": None,
        "strike_distance": 100,
        "atm_offset": None,
        "premium": None,
    }


def test_a_strike_selection_without_its_method_or_value_writes_nothing(
    alice, dynamodb, strategy_id
):
    delta = {"strike_selection_config": {"method": "DELTA", "delta_value": 0.3}}
    assert put_leg(alice, strategy_id, delta).status == 200
    path = f"/options/strategies/{strategy_id}/legs/1"
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"strike_selection_config": {"delta_value": 0.2}},
        "strike_selection_config.method",
    )
    refused(
        alice,
        dynamodb,
        "PUT",
        path,
        {"strike_selection_config": {"method": "PREMIUM"}},
        "strike_selection_config.premium",
    )
    assert leg(alice, strategy_id)["strike_selection_config"]["delta_value"] == 0.3


def test_a_get_body_put_back_as_it_is_changes_nothing(alice, strategy_id):
    """Null limits and a null max_lots read back as null and go back as null: still none."""
    assert (
        put_allocation(alice, strategy_id, {"risk_limits": {"max_daily_loss": None}}).status == 200
    )
    before = allocation(alice, strategy_id)
    reply = put_allocation(alice, strategy_id, before)
    assert reply.status == 200, reply.body
    after = allocation(alice, strategy_id)
    unchanged = ("allocation_config", "risk_limits", "execution_config", "priority", "status")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    leg_before = leg(alice, strategy_id)
    assert put_leg(alice, strategy_id, leg_before).status == 200
    leg_after = leg(alice, strategy_id)
    assert {k: v for k, v in leg_after.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in leg_before.items() if k not in ("version", "updated_at")
    }


def test_a_list_is_replaced_whole(alice, strategy_id):
    """Entry days are one list, not settings by index: the list sent is the new list."""
    reply = alice.put(f"/options/strategies/{strategy_id}", {"entry_days": ["MONDAY"]})
    assert reply.status == 200, reply.body
    assert reply.body["entry_days"] == ["MONDAY"]
