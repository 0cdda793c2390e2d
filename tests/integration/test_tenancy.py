"""The user is the verified token's sub and nothing else."""

from tests.conftest import all_items
from tests.journey import BASKET, LEGS, STRATEGY


def test_no_token_is_401_and_nothing_is_written(anonymous, dynamodb):
    for method, path in [
        ("GET", "/options/baskets"),
        ("POST", "/options/baskets"),
        ("GET", "/openapi.json"),
    ]:
        reply = anonymous.call(method, path, BASKET if method == "POST" else None)
        assert reply.status == 401
        assert reply.error["code"] == "UNAUTHORIZED"
    assert all_items(dynamodb) == []


def test_another_users_items_are_404_and_stay_unchanged(iron_condor, alice, bob, dynamodb):
    basket, strategy = iron_condor
    bid, sid = basket["basket_id"], strategy["strategy_id"]
    before = all_items(dynamodb)
    attempts = [
        ("GET", f"/options/baskets/{bid}", None),
        ("PUT", f"/options/baskets/{bid}", {"basket_name": "mine now"}),
        ("DELETE", f"/options/baskets/{bid}", None),
        ("POST", f"/options/baskets/{bid}/strategies", STRATEGY),
        ("GET", f"/options/strategies/{sid}", None),
        ("PUT", f"/options/strategies/{sid}", {"status": "PAUSED"}),
        ("DELETE", f"/options/strategies/{sid}", None),
        ("GET", f"/options/strategies/{sid}/legs", None),
        ("POST", f"/options/strategies/{sid}/legs", {"legs": [dict(LEGS["legs"][0], leg_no=5)]}),
        ("PUT", f"/options/strategies/{sid}/legs/1", {"lots": 9}),
        ("DELETE", f"/options/strategies/{sid}/legs/1", None),
        ("GET", f"/options/strategies/{sid}/allocations", None),
        ("GET", f"/options/strategies/{sid}/allocations/summary", None),
        ("PUT", f"/options/strategies/{sid}/allocations/ZERODHA123", {"priority": 5}),
        ("DELETE", f"/options/strategies/{sid}/allocations/ZERODHA123", None),
        ("DELETE", "/options/broker-accounts/ZERODHA123", None),
    ]
    for method, path, body in attempts:
        reply = bob.call(method, path, body)
        assert reply.status == 404, (method, path, reply.body)
    assert all_items(dynamodb) == before


def test_lists_show_only_the_callers_items(iron_condor, bob):
    basket, _ = iron_condor
    assert bob.get("/options/baskets").body["items"] == []
    assert bob.get("/options/strategies").body["items"] == []
    assert bob.get("/options/broker-accounts").body["items"] == []
    assert bob.get(f"/options/strategies?basket_id={basket['basket_id']}").status == 404


def test_a_user_id_in_a_body_is_ignored(alice, bob):
    created = alice.post(
        "/options/baskets", {**BASKET, "user_id": "sub-bob", "creator_user_id": "sub-bob"}
    ).body
    assert created["creator_user_id"] == "sub-alice"
    assert bob.get("/options/baskets").body["items"] == []
    assert [b["basket_id"] for b in alice.get("/options/baskets").body["items"]] == [
        created["basket_id"]
    ]


def test_allocating_to_another_users_account_is_refused(iron_condor, alice, bob):
    strategy = bob.post("/options/strategies", STRATEGY).body
    bob.post(f"/options/strategies/{strategy['strategy_id']}/legs", LEGS)
    reply = bob.post(
        f"/options/strategies/{strategy['strategy_id']}/allocations", {"client_id": "ZERODHA123"}
    )
    assert reply.status == 422
    assert reply.error["details"][0]["field"] == "client_id"


def test_a_pagination_token_from_another_user_is_refused(alice, bob):
    for n in range(3):
        alice.post("/options/baskets", {**BASKET, "basket_name": f"b{n}"})
    first = alice.get("/options/baskets?limit=2").body
    assert len(first["items"]) == 2
    assert first["next_token"]
    assert bob.get(f"/options/baskets?next_token={first['next_token']}").status == 422
    rest = alice.get(f"/options/baskets?limit=2&next_token={first['next_token']}").body
    assert len(rest["items"]) == 1
    assert rest["next_token"] is None


def test_concurrent_requests_to_different_functions_keep_their_own_callers(alice, bob, dynamodb):
    """Powertools keeps the current event in a process-wide slot; the local front must not let two
    requests share it (in Lambda, one request per instance does the same)."""
    import threading

    statuses: list[int] = []

    def run(client, path, body_of):
        statuses.extend(client.post(path, body_of(n)).status for n in range(30))

    threads = [
        threading.Thread(
            target=run,
            args=(alice, "/options/baskets", lambda n: {**BASKET, "basket_name": f"a{n}"}),
        ),
        threading.Thread(
            target=run,
            args=(
                bob,
                "/options/broker-accounts",
                lambda n: {"client_id": f"BOB{n:03d}", "broker": "PAPER"},
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 60
    owners = {(item["user_id"]["S"], item["entity_type"]["S"]) for item in all_items(dynamodb)}
    assert owners == {("sub-alice", "BASKET"), ("sub-bob", "BROKER_ACCOUNT")}
