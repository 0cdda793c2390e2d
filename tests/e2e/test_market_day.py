"""The spec's four test scenarios over HTTP against `./deploy.sh -e local`, on trading days run by
`--session` on a stepped clock: the engine (timer, event routing, execution workflows, paper
brokers) does the trading, and nothing here depends on how fast the machine runs it.

Each scenario is set up over HTTP on a platform whose clock is a Saturday evening (nothing is due,
so set-up may take as long as it takes), the platform is stopped, `--session DAY` runs the trading
day on the same data dir, and the platform is started again (on an evening when nothing is due) to
read executions, orders and positions over HTTP. Three data dirs:
- "monday": Asha with the spec's journey and the `--demo` trader, in one Monday session (2 March
  2026, the NIFTY weekly's expiry: 3 March is a holiday);
- "ten": Meera with ten strategies, in a Monday session ended after the 09:30 entry;
- "week": Ravi's condor split across accounts on next week's contracts, entered in Monday's
  session and closed in Friday's (6 March).
The three Monday sessions run side by side; Friday's starts as soon as the week's Monday ends.
The 60x real-time day, which does depend on the machine, is `benchmarks/realtime_day.py`.
"""

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    WEEKEND_EVENING,
    Client,
    Platform,
    Session,
    e2e_budget,
    stop_group,
)
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, SPECS_LOTS, STRATEGY

# The first test of the module sets the three data dirs up (three starts), runs four sessions (the
# week's two one after the other, the other two beside them) and starts a read-back platform;
# two more read-back platforms start in later tests.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(e2e_budget(starts=6, sessions=2, requests_=200)),
]
MONDAY, FRIDAY = "2026-03-02", "2026-03-06"
MONDAY_EVENING = "2026-03-02T20:00:00+05:30"  # after the close; the next thing due is Friday 15:20
FRIDAY_EVENING = "2026-03-06T20:00:00+05:30"
DISCOVERY_QUERIES = 2 * 8 * 5  # entries and exits, 8 shards, 5 minutes a window: whatever the users

# Legs split across accounts; MARKET orders on next week's contracts (the weekly expires on Monday
# 2 March, so a Monday-to-Friday condor trades the 10 March expiry).
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


def set_up(
    client: Client, strategy=STRATEGY, legs=LEGS, allocations=ALLOCATIONS, accounts=True, funds=None
) -> str:
    if accounts:
        for account in BROKER_ACCOUNTS:
            created = client.post(
                "/options/broker-accounts", {**account, **({"paper_funds": funds} if funds else {})}
            )
            assert created.status_code == 201, created.text
    basket = client.post("/options/baskets", BASKET)
    assert basket.status_code == 201, basket.text
    created = client.post(f"/options/baskets/{basket.json()['basket_id']}/strategies", strategy)
    assert created.status_code == 201, created.text
    strategy_id = created.json()["strategy_id"]
    answer = client.post(f"/options/strategies/{strategy_id}/legs", legs)
    assert answer.status_code == 201, answer.text
    answer = client.post(f"/options/strategies/{strategy_id}/allocations/advanced", allocations)
    assert answer.status_code == 201, answer.text
    return strategy_id


def items(client: Client, path: str) -> list[dict]:
    answer = client.get(path)
    assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:2000]}"
    return answer.json()["items"]


def orders_of(client: Client, strategy_id: str) -> list[dict]:
    return items(client, f"/options/orders?strategy_id={strategy_id}")


def history_of(client: Client, strategy_id: str) -> list[dict]:
    return items(client, f"/options/executions/history?strategy_id={strategy_id}")


def positions_of(client: Client, strategy_id: str) -> list[dict]:
    return items(client, f"/options/positions?strategy_id={strategy_id}")


def trigger_results(data_dir: Path) -> list[dict]:
    """Every schedule trigger's result, as the functions logged them (DIR/functions.log)."""
    return [
        json.loads(line)["result"]
        for line in (data_dir / "functions.log").read_text().splitlines()
        if line.startswith("{") and '"message":"schedule trigger"' in line
    ]


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """The three data dirs set up, and their sessions run: the ids of what was set up, the reports."""
    monday_dir = tmp_path_factory.mktemp("monday")
    week_dir = tmp_path_factory.mktemp("week")
    ten_dir = tmp_path_factory.mktemp("ten")
    set_up_platform = Platform(monday_dir, WEEKEND_EVENING).start()
    try:
        asha = Client(set_up_platform, set_up_platform.sign_up("asha"))
        journey = set_up(asha)
    finally:
        assert set_up_platform.stop() == 0
    set_up_platform = Platform(week_dir, WEEKEND_EVENING).start()
    try:
        ravi = Client(set_up_platform, set_up_platform.sign_up("ravi"))
        split = set_up(ravi, legs=SPLIT_LEGS, allocations=SPLIT_ALLOCATIONS)
    finally:
        assert set_up_platform.stop() == 0
    set_up_platform = Platform(ten_dir, WEEKEND_EVENING).start()
    try:
        meera = Client(set_up_platform, set_up_platform.sign_up("meera"))
        # Ten condors on the same two accounts need the funds for ten condors' margin (the spec's
        # allocations stop at 60-70% of it).
        ten = [
            set_up(
                meera,
                {**STRATEGY, "strategy_name": f"Iron Condor {n}"},
                accounts=n == 0,
                funds=20_000_000,
            )
            for n in range(10)
        ]
    finally:
        assert set_up_platform.stop() == 0

    monday = Session(monday_dir, MONDAY, demo=True).start()
    week_monday = Session(week_dir, MONDAY).start()
    week_friday = Session(week_dir, FRIDAY)
    # Ten strategies' eighty orders, reconciled every minute of a whole day, would make that day
    # ten times as long: the entry is what is tested, so that session ends after 09:31.
    ten_monday = Session(ten_dir, MONDAY).start()
    try:
        ten_report = ten_monday.end_after(datetime.fromisoformat("2026-03-02T09:31:00+05:30"))
        week_monday_report = week_monday.wait()
        week_friday.start()
        monday_report = monday.wait()
        week_friday_report = week_friday.wait()
    finally:  # one that failed leaves none of the others running
        for session in (monday, week_monday, week_friday, ten_monday):
            if session.process:
                stop_group(session.process)
    return {
        "monday_dir": monday_dir,
        "ten_dir": ten_dir,
        "week_dir": week_dir,
        "journey": journey,
        "ten": ten,
        "split": split,
        "monday": monday,
        "reports": {
            "monday": monday_report,
            "ten": ten_report,
            "week monday": week_monday_report,
            "week friday": week_friday_report,
        },
    }


@pytest.fixture(scope="module")
def after_monday(days):
    platform = Platform(days["monday_dir"], MONDAY_EVENING).start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def after_ten(days):
    platform = Platform(days["ten_dir"], MONDAY_EVENING).start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def after_friday(days):
    platform = Platform(days["week_dir"], FRIDAY_EVENING).start()
    yield platform
    platform.stop()


# -- Monday: the spec's journey, entered at 09:30 --------------------------------------------------
def test_the_specs_journey_is_entered_at_0930_on_both_accounts_hedges_first(days, after_monday):
    asha = Client(after_monday, after_monday.sign_in("asha"))
    strategy_id = days["journey"]
    entries = [o for o in orders_of(asha, strategy_id) if o["execution_type"] == "ENTRY"]
    assert {(o["client_id"], o["leg_no"]): o["lots"] for o in entries} == SPECS_LOTS
    # On the stepped clock the whole entry happens at 09:30:00 (04:00 UTC): the LIMIT orders meet
    # the quote they were priced from, and fill.
    assert all(
        o["quantity"] == o["lots"] * 65
        and o["status"] == "COMPLETE"
        and o["placed_at"].startswith("2026-03-02T04:00")
        for o in entries
    ), entries
    # Hedges first is not visible here: on the stepped clock every order is placed at 09:30:00.000
    # and the paper brokers' ids are random (tests/integration/test_strategy_executor.py checks the
    # order the executor sends them in).
    history = history_of(asha, strategy_id)
    (entry,) = [h for h in history if h["execution_type"] == "ENTRY"]
    assert (entry["status"], entry["execution_time"]) == ("COMPLETED", "09:30")
    assert entry["execution_results"]["successful_orders"] == 8
    assert entry["started_at"].startswith("2026-03-02T04:00:0")
    assert all(entry["started_at"] <= o["placed_at"] <= entry["completed_at"] for o in entries)


def test_the_short_legs_stop_loss_closes_it_on_both_accounts_and_the_rest_is_held(
    days, after_monday
):
    asha = Client(after_monday, after_monday.sign_in("asha"))
    strategy_id = days["journey"]
    orders = orders_of(asha, strategy_id)
    stops = [o for o in orders if o["execution_type"] == "STOP_LOSS"]
    assert stops, json.dumps(orders)[:5000]
    assert {o["client_id"] for o in stops} == {"ZERODHA123", "ANGELONE456"}
    (stopped_leg,) = {o["leg_no"] for o in stops}
    entered = {(o["client_id"], o["leg_no"]): o for o in orders if o["execution_type"] == "ENTRY"}
    for stop in stops:  # buys back exactly what the short leg sold, later in the day
        sold = entered[(stop["client_id"], stopped_leg)]
        assert (sold["transaction_type"], stop["transaction_type"]) == ("SELL", "BUY")
        assert (stop["quantity"], stop["status"]) == (sold["quantity"], "COMPLETE")
        assert "2026-03-02T04:01" <= stop["placed_at"] < "2026-03-02T10:00"
    positions = {(p["client_id"], p["leg_no"]): p for p in positions_of(asha, strategy_id)}
    assert set(positions) == set(SPECS_LOTS)
    for (account, leg), position in positions.items():
        if leg == stopped_leg:
            assert position["quantity"] == 0
            assert position["realised_pnl"] is not None
        else:
            signed = 1 if entered[(account, leg)]["transaction_type"] == "BUY" else -1
            assert position["quantity"] == signed * SPECS_LOTS[(account, leg)] * 65
        assert position["pnl"] is not None
    history = history_of(asha, strategy_id)
    assert sorted(h["execution_type"] for h in history).count("STOP_LOSS") == len(stops)


def test_the_same_strategy_on_the_same_day_makes_the_same_pnl_for_every_trader(days, after_monday):
    """Asha and the demo trader run the spec's journey on the same accounts' names: each is
    deterministic on the stepped clock, so their daily reports agree to the rupee."""
    reports = {
        name: Client(after_monday, token).get(f"/options/reports/daily?date={MONDAY}")
        for name, token in (
            ("asha", after_monday.sign_in("asha")),
            ("demo", after_monday.sign_in("demo", "Demo-trader-1")),
        )
    }
    assert all(r.status_code == 200 for r in reports.values()), reports
    (asha,) = reports["asha"].json()["strategies"]
    (demo,) = reports["demo"].json()["strategies"]
    assert asha["strategy_name"] == demo["strategy_name"] == "Weekly Iron Condor NIFTY"
    assert asha["pnl"] == demo["pnl"] != 0
    accounts = {a["client_id"]: a for a in asha["accounts"]}
    assert asha["pnl"] == pytest.approx(sum(a["pnl"] for a in accounts.values()))
    assert {k: a["orders"] for k, a in accounts.items()} == {
        k: a["orders"] for k, a in ((a["client_id"], a) for a in demo["accounts"])
    }


def test_a_second_manual_entry_the_same_day_is_refused_and_places_nothing(days, after_monday):
    asha = Client(after_monday, after_monday.sign_in("asha"))
    strategy_id = days["journey"]
    before = orders_of(asha, strategy_id)
    again = asha.post(
        "/options/executions/manual", {"strategy_id": strategy_id, "execution_type": "entry"}
    )
    assert again.status_code == 409, again.text
    assert "already ran" in again.json()["error"]["message"]
    assert orders_of(asha, strategy_id) == before


# -- One trader, ten strategies: discovery does not grow with them ---------------------------------
def test_one_user_with_ten_strategies_is_discovered_with_the_same_queries_and_all_are_entered(
    days, after_ten
):
    meera = Client(after_ten, after_ten.sign_in("meera"))
    for strategy_id in days["ten"]:
        (entry,) = [h for h in history_of(meera, strategy_id) if h["execution_type"] == "ENTRY"]
        assert (
            entry["execution_time"],
            entry["status"],
            entry["execution_results"]["successful_orders"],
        ) == ("09:30", "COMPLETED", 8)
        entries = [o for o in orders_of(meera, strategy_id) if o["execution_type"] == "ENTRY"]
        assert {(o["client_id"], o["leg_no"]): o["lots"] for o in entries} == SPECS_LOTS
    triggers = trigger_results(days["ten_dir"])
    covering = [t for t in triggers if "2026-03-02T04:00:00.000Z" in t["minutes"]]
    assert len(covering) == 1, json.dumps(covering)[:3000]
    assert covering[0]["created"] == 10
    assert covering[0]["discovery_queries"] == DISCOVERY_QUERIES
    assert all(t["discovery_queries"] == DISCOVERY_QUERIES for t in triggers)
    assert days["reports"]["ten"]["executions"] == 10


# -- A whole session with --demo --------------------------------------------------------------------
def test_a_demo_session_runs_the_day_by_itself_and_leaves_a_report(days):
    monday, report = days["monday"], days["reports"]["monday"]
    output = monday.output()
    assert "2026-03-02 09:30 IST" in output
    assert "session of 2026-03-02 done" in output
    assert "demo trader   demo / Demo-trader-1 (set up: yes)" in output
    # Every minute from 09:00 to the last before the close, each exactly on its minute: no drift.
    assert report["timer"]["ticks"] == 390
    assert report["timer"]["max_seconds_after_the_minute"] == 0
    assert report["timer"]["first"] == "2026-03-02T03:30:00.000Z"
    assert report["timer"]["last"] == "2026-03-02T09:59:00.000Z"
    condors = [
        s
        for trader in report["traders"].values()
        for s in trader["strategies"]
        if s["strategy_name"] == "Weekly Iron Condor NIFTY"
    ]
    assert len(condors) == 2  # Asha's and the demo trader's
    for condor in condors:
        held = {(p["client_id"], p["leg_no"]) for a in condor["accounts"] for p in a["positions"]}
        assert held == set(SPECS_LOTS)
        entered = {
            (a["client_id"], o["leg_no"]): o["lots"]
            for a in condor["accounts"]
            for o in a["order_list"]
            if o["execution_type"] == "ENTRY" and o["placed_at"].startswith("2026-03-02T04:00")
        }
        assert entered == SPECS_LOTS
    data_dir = days["monday_dir"]
    assert (data_dir / "report-2026-03-02.html").read_text().count("<svg") == 1
    assert "Weekly Iron Condor NIFTY" in (data_dir / "report-2026-03-02.svg").read_text()
    # Each trader's entry, and each one's stop loss on both accounts.
    assert (report["executions"], report["orders"]) == (6, 20)


# -- Legs split across accounts, entered on Monday and closed on Friday ----------------------------
def test_legs_1_and_2_go_to_zerodha_at_3_lots_and_legs_3_and_4_to_angel_one_at_2(days):
    (ravi,) = days["reports"]["week monday"]["traders"].values()
    (condor,) = ravi["strategies"]
    assert condor["strategy_id"] == days["split"]
    orders = [(a["client_id"], o) for a in condor["accounts"] for o in a["order_list"]]
    assert sorted(
        (account, o["leg_no"], o["lots"], o["execution_type"], o["status"]) for account, o in orders
    ) == [
        ("ANGELONE456", 3, 2, "ENTRY", "COMPLETE"),
        ("ANGELONE456", 4, 2, "ENTRY", "COMPLETE"),
        ("ZERODHA123", 1, 3, "ENTRY", "COMPLETE"),
        ("ZERODHA123", 2, 3, "ENTRY", "COMPLETE"),
    ]
    held = sorted(
        (a["client_id"], p["leg_no"], p["quantity"])
        for a in condor["accounts"]
        for p in a["positions"]
    )
    assert held == [
        ("ANGELONE456", 3, -130),
        ("ANGELONE456", 4, 130),
        ("ZERODHA123", 1, -195),
        ("ZERODHA123", 2, 195),
    ]


def test_positions_entered_on_monday_are_closed_at_1520_on_friday(days, after_friday):
    ravi = Client(after_friday, after_friday.sign_in("ravi"))
    strategy_id = days["split"]
    positions = positions_of(ravi, strategy_id)
    assert {p["quantity"] for p in positions} == {0}, positions
    assert all(p["realised_pnl"] is not None for p in positions)
    exits = [o for o in orders_of(ravi, strategy_id) if o["execution_type"] == "EXIT"]
    assert sorted(
        (o["client_id"], o["leg_no"], o["transaction_type"], o["quantity"], o["status"])
        for o in exits
    ) == [
        ("ANGELONE456", 3, "BUY", 130, "COMPLETE"),
        ("ANGELONE456", 4, "SELL", 130, "COMPLETE"),
        ("ZERODHA123", 1, "BUY", 195, "COMPLETE"),
        ("ZERODHA123", 2, "SELL", 195, "COMPLETE"),
    ]
    assert all(o["placed_at"].startswith("2026-03-06T09:50") for o in exits)  # 15:20 IST
    assert [
        (h["execution_type"], h["execution_time"], h["status"])
        for h in history_of(ravi, strategy_id)
    ] == [("EXIT", "15:20", "COMPLETED"), ("ENTRY", "09:30", "COMPLETED")]
    (friday,) = days["reports"]["week friday"]["traders"].values()
    (condor,) = friday["strategies"]
    assert condor["pnl"] == pytest.approx(sum(p["realised_pnl"] for p in positions))
