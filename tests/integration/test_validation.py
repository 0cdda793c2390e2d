"""Bad input gets a 4xx whose message names the field, and nothing is written."""

import copy

import pytest

from tests.conftest import all_items
from tests.journey import ALLOCATIONS, BASKET, LEGS, STRATEGY


def _with(base, **changes):
    data = copy.deepcopy(base)
    data.update(changes)
    return data


def _leg(**changes):
    data = copy.deepcopy(LEGS)
    data["legs"][0].update(changes)
    return data


BAD_STRATEGIES = [
    (_with(STRATEGY, entry_time="9:30"), "entry_time"),
    (_with(STRATEGY, entry_time="09:00"), "entry_time"),
    (_with(STRATEGY, exit_time="15:45"), "exit_time"),
    (_with(STRATEGY, entry_days=["SUNDAY"]), "entry_days[0]"),
    (_with(STRATEGY, entry_days=["MONDAY", "MONDAY"]), "entry_days"),
    (_with(STRATEGY, exit_days=[]), "exit_days"),
    (_with(STRATEGY, underlying="DOGECOIN"), "underlying"),
    (_with(STRATEGY, product="CNC"), "product"),
    (
        _with(STRATEGY, product="MIS", is_intra_day=True, entry_time="14:00", exit_time="10:00"),
        "exit_time",
    ),
    (_with(STRATEGY, product="MIS", is_intra_day=True, exit_days=["FRIDAY"]), "exit_days"),
    (_with(STRATEGY, is_intra_day=True), "is_intra_day"),
    (_with(STRATEGY, strategy_name=""), "strategy_name"),
    (_with(STRATEGY, stop_los=5), "stop_los"),
    ({k: v for k, v in STRATEGY.items() if k != "entry_time"}, "entry_time"),
]


@pytest.mark.parametrize(("body", "field"), BAD_STRATEGIES)
def test_bad_strategies_are_422_naming_the_field_and_write_nothing(alice, dynamodb, body, field):
    before = all_items(dynamodb)
    reply = alice.post("/options/strategies", body)
    assert reply.status == 422, reply.body
    assert field in [d["field"] for d in reply.error["details"]], reply.error
    assert field in reply.error["message"]
    assert all_items(dynamodb) == before


BAD_LEGS = [
    (_leg(lots=0), "legs[0].lots"),
    (_leg(lots=1.5), "legs[0].lots"),
    (_leg(leg_no=7), "legs[0].leg_no"),
    (_leg(leg_no=2), "legs[1].leg_no"),
    (_leg(transaction_type="HOLD"), "legs[0].transaction_type"),
    (_leg(leg_type="STRADDLE"), "legs[0].leg_type"),
    (_leg(entry_by="HUNCH"), "legs[0].entry_by"),
    (_leg(category="LONG"), "legs[0].category"),
    (_leg(entry_max_slippage=2), "legs[0].entry_max_slippage"),
    (_leg(expiry_type="MONTHLY", expiry_offset=3), "legs[0].expiry_offset"),
    (_leg(underlying="BANKNIFTY"), "legs[0].underlying"),
    (_leg(stop_loss=-1), "legs[0].stop_loss"),
    ({"legs": []}, "legs"),
    ({"legs": LEGS["legs"] * 2}, "legs"),
]


@pytest.mark.parametrize(("body", "field"), BAD_LEGS)
def test_bad_legs_are_422_naming_the_field_and_write_nothing(alice, dynamodb, body, field):
    strategy = alice.post("/options/strategies", STRATEGY).body
    before = all_items(dynamodb)
    reply = alice.post(f"/options/strategies/{strategy['strategy_id']}/legs", body)
    assert reply.status == 422, reply.body
    assert field in [d["field"] for d in reply.error["details"]], reply.error
    assert all_items(dynamodb) == before


def test_weekly_legs_on_an_underlying_without_weeklies_are_refused(alice, dynamodb):
    strategy = alice.post("/options/strategies", _with(STRATEGY, underlying="BANKNIFTY")).body
    legs = copy.deepcopy(LEGS)
    for leg in legs["legs"]:
        leg["underlying"] = "BANKNIFTY"
    before = all_items(dynamodb)
    reply = alice.post(f"/options/strategies/{strategy['strategy_id']}/legs", legs)
    assert reply.status == 422
    assert reply.error["details"][0]["field"] == "legs[0].expiry_type"
    assert "no weekly expiries" in reply.error["message"]
    assert all_items(dynamodb) == before


def _allocation(index=0, **config_changes):
    data = copy.deepcopy(ALLOCATIONS)
    data["allocations"][index]["allocation_config"].update(config_changes)
    return data


def test_bad_allocations_are_refused_whole(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    alice.post("/options/broker-accounts", {"client_id": "DHAN1", "broker": "DHAN"})
    alice.post("/options/broker-accounts", {"client_id": "DHAN2", "broker": "DHAN"})
    good = {
        "client_id": "DHAN1",
        "allocation_config": {"type": "LEG_LEVEL", "leg_overrides": {"1": {"lots": 1}}},
    }
    cases = [
        (
            {"allocations": [good, {"client_id": "DHAN2", "leg_overrides": {"9": {"lots": 1}}}]},
            "allocations[1].allocation_config.leg_overrides.9",
        ),
        (
            {"allocations": [good, {"client_id": "DHAN2", "leg_overrides": {"5": {"lots": 1}}}]},
            "allocations[1].allocation_config.leg_overrides.5",
        ),
        (
            {"allocations": [good, {"client_id": "NOBODY9", "leg_overrides": {"1": {"lots": 1}}}]},
            "allocations[1].client_id",
        ),
        (
            {"allocations": [good, {"client_id": "DHAN2", "leg_overrides": {"1": {"lots": 0}}}]},
            "allocations[1].allocation_config.leg_overrides.1.lots",
        ),
        (
            {"allocations": [good, {"client_id": "DHAN2", "strategy_lots_multiplier": 0.25}]},
            "allocations[1].allocation_config.strategy_lots_multiplier",
        ),
        (
            {
                "allocations": [
                    good,
                    {"client_id": "DHAN2", "allocation_config": {"type": "LEG_LEVEL"}},
                ]
            },
            "allocations[1].allocation_config.leg_overrides",
        ),
        (
            {
                "allocations": [
                    good,
                    {"client_id": "DHAN2", "risk_limits": {"max_margin_utilization": 150}},
                ]
            },
            "allocations[1].risk_limits.max_margin_utilization",
        ),
        ({"allocations": [good, good]}, "allocations[1].client_id"),
    ]
    before = all_items(dynamodb)
    for body, field in cases:
        reply = alice.post(f"/options/strategies/{sid}/allocations/advanced", body)
        assert reply.status == 422, (body, reply.body)
        assert field in [d["field"] for d in reply.error["details"]], (field, reply.error)
    assert all_items(dynamodb) == before


def test_malformed_json_is_400(alice, dynamodb):
    reply = alice.post("/options/baskets", raw="{not json")
    assert reply.status == 400
    assert reply.error["code"] == "BAD_REQUEST"
    assert all_items(dynamodb) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_with(BASKET, initial_capital=0), "initial_capital"),
        (_with(BASKET, initial_capital="lots"), "initial_capital"),
        (_with(BASKET, deployable_percentage=120), "deployable_percentage"),
        (_with(BASKET, basket_name="x" * 101), "basket_name"),
        (_with(BASKET, status="SLEEPING"), "status"),
        ({k: v for k, v in BASKET.items() if k != "basket_name"}, "basket_name"),
    ],
)
def test_bad_baskets_are_422(alice, dynamodb, body, field):
    reply = alice.post("/options/baskets", body)
    assert reply.status == 422
    assert field in [d["field"] for d in reply.error["details"]]
    assert all_items(dynamodb) == []


def test_bad_query_parameters_and_tokens_are_refused(alice):
    assert alice.get("/options/baskets?limit=0").status == 422
    assert alice.get("/options/baskets?limit=many").status == 422
    reply = alice.get("/options/baskets?next_token=bm90LWEtdG9rZW4")
    assert reply.status == 422
    assert reply.error["details"][0]["field"] == "next_token"


def test_broker_accounts_are_validated_and_paper_by_default(alice):
    assert (
        alice.post("/options/broker-accounts", {"client_id": "Z", "broker": "ZERODHA"}).status
        == 422
    )
    assert (
        alice.post(
            "/options/broker-accounts", {"client_id": "ZERODHA123", "broker": "ROBINHOOD"}
        ).status
        == 422
    )
    created = alice.post(
        "/options/broker-accounts", {"client_id": "ZERODHA123", "broker": "zerodha"}
    )
    assert created.status == 201
    assert created.body["mode"] == "PAPER"
    assert created.body["broker"] == "ZERODHA"
    assert (
        alice.post(
            "/options/broker-accounts", {"client_id": "ZERODHA123", "broker": "ZERODHA"}
        ).status
        == 409
    )
    live = alice.post(
        "/options/broker-accounts", {"client_id": "KITE2", "broker": "ZERODHA", "mode": "LIVE"}
    )
    assert live.body["mode"] == "LIVE"


def test_unknown_routes_and_methods(alice, anonymous):
    assert alice.get("/options/nothing-here").status == 404
    assert alice.call("PATCH", "/options/baskets").status == 405
    assert anonymous.call("OPTIONS", "/options/baskets").status == 204


def test_a_basket_that_does_not_exist_is_422_in_a_body_and_404_in_a_path(alice, dynamodb):
    in_body = alice.post("/options/strategies", {**STRATEGY, "basket_id": "no-such-basket"})
    assert in_body.status == 422
    assert in_body.error["details"][0]["field"] == "basket_id"
    assert alice.post("/options/baskets/no-such-basket/strategies", STRATEGY).status == 404
    assert all_items(dynamodb) == []


def test_a_body_that_is_not_json_by_its_media_type_is_415(gateway, dynamodb):
    reply = gateway.handle(
        "POST",
        "/options/baskets",
        {"Authorization": "Bearer alice", "Content-Type": "application/x-www-form-urlencoded"},
        '{"basket_name": "b", "initial_capital": 1}',
    )
    assert reply.status == 415
    assert "application/json" in reply.body
    assert all_items(dynamodb) == []
    charset = gateway.handle(
        "POST",
        "/options/baskets",
        {"Authorization": "Bearer alice", "Content-Type": "application/json; charset=utf-8"},
        '{"basket_name": "b", "initial_capital": 1}',
    )
    assert charset.status == 201


def test_swagger_ui_is_served_locally_with_the_document_embedded(gateway):
    reply = gateway.handle("GET", "/swagger", {}, None)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in reply.body
    assert "/options/strategies/{strategy_id}/allocations/advanced" in reply.body


def test_a_method_a_resource_does_not_have_is_405_with_allow(gateway):
    reply = gateway.handle("PATCH", "/options/baskets", {"Authorization": "Bearer alice"}, None)
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST, OPTIONS"


def test_path_parameters_reach_the_handler_url_decoded(alice):
    reply = alice.get("/options/strategies/a%20b")
    assert reply.status == 404
    assert "strategy a b not found" in reply.error["message"]
