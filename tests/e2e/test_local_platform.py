"""A client that knows only the README and the API reference, against `./deploy.sh -e local`."""

import pytest

from tests.e2e.conftest import Client, e2e_budget
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

# The first test starts the platform; the restart test stops and starts it again.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(e2e_budget(starts=2))]


@pytest.fixture(scope="module")
def users(platform):
    return {name: Client(platform, platform.sign_up(name)) for name in ("asha", "vikram")}


@pytest.fixture(scope="module")
def journey(users):
    asha = users["asha"]
    for account in BROKER_ACCOUNTS:
        assert asha.post("/options/broker-accounts", account).status_code == 201
    basket = asha.post("/options/baskets", BASKET)
    assert basket.status_code == 201, basket.text
    basket = basket.json()
    strategy = asha.post(f"/options/baskets/{basket['basket_id']}/strategies", STRATEGY)
    assert strategy.status_code == 201, strategy.text
    sid = strategy.json()["strategy_id"]
    legs = asha.post(f"/options/strategies/{sid}/legs", LEGS)
    assert legs.status_code == 201, legs.text
    allocations = asha.post(f"/options/strategies/{sid}/allocations/advanced", ALLOCATIONS)
    assert allocations.status_code == 201, allocations.text
    return {
        "basket_id": basket["basket_id"],
        "strategy_id": sid,
        "allocations": allocations.json()["items"],
    }


def test_outputs_have_the_deployment_keys(platform):
    assert set(platform.outputs) >= {
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "AwsEndpointUrl",
        "Region",
    }
    assert platform.outputs["ApiUrl"].startswith("http://127.0.0.1:")
    assert platform.outputs["AwsEndpointUrl"].startswith("http://127.0.0.1:")


def test_journey_1_gives_the_specs_totals(journey, users):
    totals = {
        a["client_id"]: a["calculated_totals"]["total_lots_per_execution"]
        for a in journey["allocations"]
    }
    assert totals == {"ZERODHA123": 8, "ANGELONE456": 10}
    summary = (
        users["asha"]
        .get(f"/options/strategies/{journey['strategy_id']}/allocations/summary")
        .json()
    )
    assert summary["total_lots_per_execution"] == 18
    strategy = users["asha"].get(f"/options/strategies/{journey['strategy_id']}").json()
    assert len(strategy["legs"]) == 4
    assert len(strategy["allocations"]) == 2


def test_the_second_user_sees_none_of_it_and_cannot_change_it(journey, users):
    vikram, asha = users["vikram"], users["asha"]
    sid, bid = journey["strategy_id"], journey["basket_id"]
    assert vikram.get("/options/baskets").json()["items"] == []
    assert vikram.get("/options/strategies").json()["items"] == []
    assert vikram.get(f"/options/strategies/{sid}").status_code == 404
    assert vikram.put(f"/options/baskets/{bid}", {"basket_name": "taken"}).status_code == 404
    assert vikram.delete(f"/options/strategies/{sid}").status_code == 404
    assert (
        vikram.put(f"/options/strategies/{sid}/allocations/ZERODHA123", {"priority": 9}).status_code
        == 404
    )
    assert asha.get(f"/options/baskets/{bid}").json()["basket_name"] == BASKET["basket_name"]
    assert (
        asha.get(f"/options/strategies/{sid}/allocations/summary").json()[
            "total_lots_per_execution"
        ]
        == 18
    )


def test_bad_inputs_are_4xx_with_the_field_named_and_nothing_written(journey, users):
    asha = users["asha"]
    before = {
        path: asha.get(path).json()
        for path in (
            "/options/baskets",
            "/options/strategies",
            f"/options/strategies/{journey['strategy_id']}",
        )
    }
    cases = [
        ("POST", "/options/baskets", {**BASKET, "initial_capital": -1}, "initial_capital"),
        ("POST", "/options/strategies", {**STRATEGY, "entry_time": "25:00"}, "entry_time"),
        ("POST", "/options/strategies", {**STRATEGY, "underlying": "BITCOIN"}, "underlying"),
        (
            "POST",
            f"/options/strategies/{journey['strategy_id']}/legs",
            {"legs": [{**LEGS["legs"][0], "leg_no": 5, "lots": 0}]},
            "legs[0].lots",
        ),
        (
            "PUT",
            f"/options/strategies/{journey['strategy_id']}",
            {"exit_days": ["SATURDAY"]},
            "exit_days[0]",
        ),
    ]
    for method, path, body, field in cases:
        reply = asha.call(method, path, body)
        assert 400 <= reply.status_code < 500, reply.text
        error = reply.json()["error"]
        assert field in error["message"]
        assert field in [d["field"] for d in error["details"]]
    assert {path: asha.get(path).json() for path in before} == before


def test_no_token_or_a_forged_one_is_401(platform, journey):
    assert Client(platform, None).get("/options/baskets").status_code == 401
    assert (
        Client(platform, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
        .get("/options/baskets")
        .status_code
        == 401
    )


def test_the_openapi_document_is_served(users):
    document = users["asha"].get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/options/baskets" in document["paths"]


def test_data_and_users_survive_a_restart(platform, journey, users):
    assert platform.stop() == 0
    assert not (platform.data_dir / "outputs.json").exists()
    platform.start()
    asha = Client(platform, platform.sign_in("asha"))
    strategy = asha.get(f"/options/strategies/{journey['strategy_id']}")
    assert strategy.status_code == 200
    assert [
        a["calculated_totals"]["total_lots_per_execution"] for a in strategy.json()["allocations"]
    ] == [8, 10]
    # A token issued before the restart is still good: same pool, same keys.
    assert users["asha"].get("/options/baskets").status_code == 200
