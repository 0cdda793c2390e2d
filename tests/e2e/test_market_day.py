"""The spec's four test scenarios over HTTP against `./deploy.sh -e local`, driven by the simulated
clock: the engine (timer, event routing, execution workflows, paper brokers) does the trading."""

import copy
import json
import os
import subprocess
import time
from datetime import datetime

import pytest

from local_platform.aws import free_port
from tests.e2e.conftest import ROOT, Client, Platform
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

pytestmark = pytest.mark.e2e
IST = datetime.fromisoformat("2026-03-02T00:00:00+05:30").tzinfo
MONDAY_0930 = datetime(2026, 3, 2, 9, 30, tzinfo=IST)
DISCOVERY_QUERIES = (
    2 * 8 * 5
)  # entries and exits, 8 shards, 5 minutes a window: whatever the number of users


def set_up(
    client: Client, strategy=STRATEGY, legs=LEGS, allocations=ALLOCATIONS, accounts=True, funds=None
) -> str:
    if accounts:
        for account in BROKER_ACCOUNTS:
            assert (
                client.post(
                    "/options/broker-accounts",
                    {**account, **({"paper_funds": funds} if funds else {})},
                ).status_code
                == 201
            )
    basket = client.post("/options/baskets", BASKET).json()
    created = client.post(f"/options/baskets/{basket['basket_id']}/strategies", strategy)
    assert created.status_code == 201, created.text
    strategy_id = created.json()["strategy_id"]
    assert client.post(f"/options/strategies/{strategy_id}/legs", legs).status_code == 201
    answer = client.post(f"/options/strategies/{strategy_id}/allocations/advanced", allocations)
    assert answer.status_code == 201, answer.text
    return strategy_id


def orders_of(client: Client, strategy_id: str) -> list[dict]:
    return client.get(f"/options/orders?strategy_id={strategy_id}").json()["items"]


def eventually(condition, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not so after {timeout}s")
        time.sleep(0.5)


# -- Monday 09:25 at speed 60: the spec's journey, entered at 09:30 ------------------------------
@pytest.fixture(scope="module")
def monday(tmp_path_factory):
    platform = Platform(
        tmp_path_factory.mktemp("monday"), clock_start="2026-03-02T09:25:00+05:30", clock_speed=60
    ).start()
    yield platform
    platform.stop()


def test_the_specs_journey_set_up_at_0925_is_entered_at_0930_on_both_accounts(monday):
    asha = Client(monday, monday.sign_up("asha"))
    strategy_id = set_up(asha)
    assert monday.now() < datetime(2026, 3, 2, 9, 29, tzinfo=IST), (
        "set-up took too long to test the 09:30 entry"
    )
    monday.wait_until(datetime(2026, 3, 2, 9, 31, tzinfo=IST))
    eventually(
        lambda: (
            asha.get(f"/options/executions/history?strategy_id={strategy_id}").json()["items"][:1]
            and asha.get(f"/options/executions/history?strategy_id={strategy_id}").json()["items"][
                0
            ]["status"]
            == "COMPLETED"
        )
    )
    orders = orders_of(asha, strategy_id)
    assert {(o["client_id"], o["leg_no"]): o["lots"] for o in orders} == {
        ("ZERODHA123", 1): 3,
        ("ZERODHA123", 2): 3,
        ("ZERODHA123", 3): 1,
        ("ZERODHA123", 4): 1,
        ("ANGELONE456", 1): 1,
        ("ANGELONE456", 2): 1,
        ("ANGELONE456", 3): 4,
        ("ANGELONE456", 4): 4,
    }
    # A LIMIT priced from the quote at 09:30:00 may meet a market that has moved by the time it
    # arrives (at 60x a real half second is half a simulated minute): it then rests, as it would.
    assert all(
        o["quantity"] == o["lots"] * 65
        and o["execution_type"] == "ENTRY"
        and o["status"] in ("COMPLETE", "OPEN")
        for o in orders
    )
    # The workflow starts the execution at 09:30:00 (below); at 60x each real second of placing
    # orders is a simulated minute, so they carry the minutes that took.
    assert all(o["placed_at"] >= "2026-03-02T04:00:00" for o in orders)
    for account in ("ZERODHA123", "ANGELONE456"):  # hedges first on each account
        sides = [
            o["transaction_type"]
            for o in sorted(
                (o for o in orders if o["client_id"] == account), key=lambda o: o["placed_at"]
            )
        ]
        assert sides == ["BUY", "BUY", "SELL", "SELL"]
    positions = asha.get(f"/options/positions?strategy_id={strategy_id}").json()["items"]
    filled = {(o["client_id"], o["leg_no"]) for o in orders if o["status"] == "COMPLETE"}
    assert filled
    assert {(p["client_id"], p["leg_no"]) for p in positions if p["quantity"]} == filled
    assert all(p["pnl"] is not None for p in positions)
    (entry,) = asha.get(f"/options/executions/history?strategy_id={strategy_id}").json()["items"]
    assert entry["status"] == "COMPLETED"
    assert entry["execution_results"]["successful_orders"] == 8
    assert entry["execution_time"] == "09:30"
    assert entry["started_at"].startswith("2026-03-02T04:00:0")
    assert all(entry["started_at"] <= o["placed_at"] <= entry["completed_at"] for o in orders)
    timer = monday.engine()["timer"]
    assert timer["ticks"] >= 5


# -- Legs split across accounts, entered on Monday and closed on Friday ----------------------------
# MARKET orders: filled whatever the market did in the real second it took to send them.
SPLIT_LEGS = {
    "legs": [
        {**leg, "expiry_offset": 1, "stop_loss": None, "order_type": "MARKET"}
        for leg in copy.deepcopy(LEGS["legs"])
    ]
}
SPLIT_ALLOCATIONS = {
    "allocations": [
        {
            "client_id": "ZERODHA123",
            "priority": 1,
            "allocation_config": {
                "type": "LEG_LEVEL",
                "leg_overrides": {
                    "1": {"lots": 3, "enabled": True},
                    "2": {"lots": 3, "enabled": True},
                },
            },
        },
        {
            "client_id": "ANGELONE456",
            "priority": 2,
            "allocation_config": {
                "type": "LEG_LEVEL",
                "leg_overrides": {
                    "3": {"lots": 2, "enabled": True},
                    "4": {"lots": 2, "enabled": True},
                },
            },
        },
    ]
}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    platform = Platform(
        tmp_path_factory.mktemp("week"), clock_start="2026-03-02T09:25:00+05:30", clock_speed=60
    ).start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def split(week):
    # NIFTY's weekly expires on Tuesday now: a Monday-to-Friday condor trades next week's contracts.
    ravi = Client(week, week.sign_up("ravi"))
    strategy_id = set_up(ravi, legs=SPLIT_LEGS, allocations=SPLIT_ALLOCATIONS)
    assert week.now() < datetime(2026, 3, 2, 9, 29, tzinfo=IST), (
        "set-up took too long to test the 09:30 entry"
    )
    week.wait_until(datetime(2026, 3, 2, 9, 31, tzinfo=IST))
    eventually(
        lambda: (
            len(orders_of(ravi, strategy_id)) == 4
            and ravi.get(f"/options/executions/history?strategy_id={strategy_id}").json()["items"][
                0
            ]["status"]
            == "COMPLETED"
        )
    )
    return ravi, strategy_id


def test_legs_1_and_2_go_to_zerodha_at_3_lots_and_legs_3_and_4_to_angel_one_at_2(split):
    ravi, strategy_id = split
    orders = orders_of(ravi, strategy_id)
    assert sorted(
        (o["client_id"], o["leg_no"], o["lots"], o["quantity"], o["status"]) for o in orders
    ) == [
        ("ANGELONE456", 3, 2, 130, "COMPLETE"),
        ("ANGELONE456", 4, 2, 130, "COMPLETE"),
        ("ZERODHA123", 1, 3, 195, "COMPLETE"),
        ("ZERODHA123", 2, 3, 195, "COMPLETE"),
    ]


def test_positions_entered_on_monday_are_closed_at_1520_on_friday(week, split):
    ravi, strategy_id = split
    held = ravi.get(f"/options/positions?strategy_id={strategy_id}").json()["items"]
    assert sorted((p["client_id"], p["leg_no"], p["quantity"]) for p in held) == [
        ("ANGELONE456", 3, -130),
        ("ANGELONE456", 4, 130),
        ("ZERODHA123", 1, -195),
        ("ZERODHA123", 2, 195),
    ]
    assert week.stop() == 0
    week.clock_start = "2026-03-06T15:16:00+05:30"
    week.start()
    ravi = Client(week, week.sign_in("ravi"))
    week.wait_until(datetime(2026, 3, 6, 15, 21, tzinfo=IST))
    try:
        eventually(
            lambda: (
                {
                    p["quantity"]
                    for p in ravi.get(f"/options/positions?strategy_id={strategy_id}").json()[
                        "items"
                    ]
                }
                == {0}
            )
        )
    except TimeoutError:
        raise AssertionError(
            json.dumps(
                {
                    "history": ravi.get(
                        f"/options/executions/history?strategy_id={strategy_id}"
                    ).json(),
                    "engine": week.engine(),
                },
                default=str,
            )[:30000]
        ) from None
    exits = [o for o in orders_of(ravi, strategy_id) if o["execution_type"] == "EXIT"]
    assert sorted((o["client_id"], o["leg_no"], o["transaction_type"]) for o in exits) == [
        ("ANGELONE456", 3, "BUY"),
        ("ANGELONE456", 4, "SELL"),
        ("ZERODHA123", 1, "BUY"),
        ("ZERODHA123", 2, "SELL"),
    ]
    assert all(o["placed_at"] >= "2026-03-06T09:50:00" for o in exits)  # from 15:20 IST
    eventually(
        lambda: (
            [
                (h["execution_type"], h["execution_time"], h["status"])
                for h in ravi.get(f"/options/executions/history?strategy_id={strategy_id}").json()[
                    "items"
                ]
            ]
            == [("EXIT", "15:20", "COMPLETED"), ("ENTRY", "09:30", "COMPLETED")]
        )
    )


# -- One trader, ten strategies: discovery does not grow with them ---------------------------------
@pytest.fixture(scope="module")
def ten(tmp_path_factory):
    # Ten strategies take some forty requests to set up: half an hour of simulated time leaves room on a busy machine.
    platform = Platform(
        tmp_path_factory.mktemp("ten"), clock_start="2026-03-02T09:00:00+05:30", clock_speed=60
    ).start()
    meera = Client(platform, platform.sign_up("meera"))
    # Ten condors on the same two accounts need the funds for ten condors' margin (the spec's
    # allocations stop at 60-70% of it).
    strategies = [
        set_up(
            meera,
            {**STRATEGY, "strategy_name": f"Iron Condor {n}"},
            accounts=n == 0,
            funds=20_000_000,
        )
        for n in range(10)
    ]
    assert platform.now() < datetime(2026, 3, 2, 9, 29, tzinfo=IST), (
        "set-up took too long to test the 09:30 entry"
    )
    platform.wait_until(datetime(2026, 3, 2, 9, 31, tzinfo=IST))
    # At 60x each real second of the 09:30 workflow is a simulated minute.
    eventually(lambda: all(len(orders_of(meera, sid)) == 8 for sid in strategies))
    yield platform, meera, strategies
    platform.stop()


def test_one_user_with_ten_strategies_is_discovered_with_the_same_queries_and_all_are_entered(ten):
    platform, meera, strategies = ten
    for strategy_id in strategies:
        history = meera.get(f"/options/executions/history?strategy_id={strategy_id}").json()[
            "items"
        ]
        (entry,) = [
            h for h in history if h["execution_type"] == "ENTRY"
        ]  # stop losses may have followed
        assert (
            entry["execution_time"],
            entry["status"],
            entry["execution_results"]["successful_orders"],
        ) == ("09:30", "COMPLETED", 8)
    triggers = platform.engine()["functions"]["schedule_strategy_trigger"]["recent"]
    covering = [t for t in triggers if "2026-03-02T04:00:00.000Z" in t["result"]["minutes"]]
    assert len(covering) == 1, json.dumps(covering)[:3000]
    assert covering[0]["result"]["created"] == 10
    assert covering[0]["result"]["discovery_queries"] == DISCOVERY_QUERIES
    assert all(t["result"]["discovery_queries"] == DISCOVERY_QUERIES for t in triggers)


# -- A whole session with --demo ------------------------------------------------------------------
def test_a_demo_session_runs_the_day_by_itself_and_leaves_a_report(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    finished = subprocess.run(
        [
            str(ROOT / "deploy.sh"),
            "-e",
            "local",
            "--demo",
            "--session",
            "2026-03-02",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "2026-03-02 09:30 IST" in finished.stderr
    assert "executions 1  orders 8" in finished.stderr
    assert "session of 2026-03-02 done" in finished.stdout
    report = json.loads((tmp_path / "report-2026-03-02.json").read_text())
    # Every minute from 09:00 to the last before the close, each exactly on its minute: no drift.
    assert report["timer"]["ticks"] == 390
    assert report["timer"]["max_seconds_after_the_minute"] == 0
    assert report["timer"]["first"] == "2026-03-02T03:30:00.000Z"
    assert report["timer"]["last"] == "2026-03-02T09:59:00.000Z"
    (trader,) = report["traders"].values()
    (condor,) = trader["strategies"]
    assert condor["strategy_name"] == "Weekly Iron Condor NIFTY"
    held = {(p["client_id"], p["leg_no"]) for a in condor["accounts"] for p in a["positions"]}
    assert len(held) == 8
    assert (tmp_path / "report-2026-03-02.html").read_text().count("<svg") == 1
    assert "Weekly Iron Condor NIFTY" in (tmp_path / "report-2026-03-02.svg").read_text()
    entered = {
        (a["client_id"], o["leg_no"]): o["lots"]
        for a in condor["accounts"]
        for o in a["order_list"]
        if o["execution_type"] == "ENTRY" and o["placed_at"].startswith("2026-03-02T04:00")
    }
    assert entered == {
        ("ZERODHA123", 1): 3,
        ("ZERODHA123", 2): 3,
        ("ZERODHA123", 3): 1,
        ("ZERODHA123", 4): 1,
        ("ANGELONE456", 1): 1,
        ("ANGELONE456", 2): 1,
        ("ANGELONE456", 3): 4,
        ("ANGELONE456", 4): 4,
    }
