"""The execution endpoints and GET /options/orders, as docs/api-reference.md describes them."""

import pytest

from shared_utils.domain.clock import FixedClock
from tests.integration.test_position_watch import queries_on
from tests.integration.test_schedule_trigger import iron_condor as iron_condor_of
from tests.integration.test_schedule_trigger import spoil
from tests.integration.test_strategy_executor import MONDAY_0930
from tests.journey import SPECS_LOTS


def test_the_schedule_says_what_runs_on_a_date(iron_condor, alice):
    _, strategy = iron_condor
    monday = alice.get("/options/executions/schedule?date=2026-03-02").body["items"]
    assert monday == [
        {
            "strategy_id": strategy["strategy_id"],
            "execution_type": "ENTRY",
            "execution_date": "2026-03-02",
            "execution_time": "09:30",
            "status": "PLANNED",
        }
    ]
    friday = alice.get("/options/executions/schedule?date=2026-03-06&type=exit").body["items"]
    assert [(r["execution_type"], r["execution_time"]) for r in friday] == [("EXIT", "15:20")]
    assert alice.get("/options/executions/schedule?date=2026-03-06&type=entry").body["items"] == []


def test_a_manual_entry_places_each_accounts_orders_and_shows_them(iron_condor, alice):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    run = alice.post("/options/executions/manual", {"strategy_id": sid, "execution_type": "entry"})
    assert run.status == 200, run.body
    assert (run.body["status"], run.body["successful_orders"]) == ("COMPLETED", 8)
    orders = alice.get(f"/options/orders?strategy_id={sid}&date=2026-03-02").body["items"]
    assert len(orders) == 8
    fields = {
        "leg_no",
        "client_id",
        "lots",
        "lot_size",
        "quantity",
        "transaction_type",
        "option_type",
        "strike",
        "expiry",
        "tradingsymbol",
        "tag",
        "status",
        "broker_order_id",
        "fill_price",
        "execution_type",
        "placed_at",
    }
    assert fields <= set(orders[0])
    assert {(o["client_id"], o["leg_no"]): o["lots"] for o in orders} == SPECS_LOTS
    assert all(o["status"] == "COMPLETE" and o["quantity"] == o["lots"] * 65 for o in orders)
    positions = alice.get(f"/options/positions?strategy_id={sid}").body["items"]
    assert sorted((p["client_id"], p["leg_no"], p["quantity"]) for p in positions) == sorted(
        [
            ("ZERODHA123", 1, -195),
            ("ZERODHA123", 2, 195),
            ("ZERODHA123", 3, -65),
            ("ZERODHA123", 4, 65),
            ("ANGELONE456", 1, -65),
            ("ANGELONE456", 2, 65),
            ("ANGELONE456", 3, -260),
            ("ANGELONE456", 4, 260),
        ]
    )
    assert all(p["last_price"] is not None and p["pnl"] is not None for p in positions)
    # The manual run has its own record; the day's scheduled entry is skipped for good and says why.
    history = alice.get(f"/options/executions/history?strategy_id={sid}").body["items"]
    (manual,) = [h for h in history if h["manual"]]
    assert manual["status"] == "COMPLETED"
    assert manual["execution_results"]["successful_orders"] == 8
    (scheduled,) = [h for h in history if not h["manual"]]
    assert (scheduled["status"], scheduled["execution_time"]) == ("SKIPPED", "09:30")
    assert "manual entry" in scheduled["reason"]
    assert alice.get("/options/orders?client_id=ANGELONE456").body["items"].__len__() == 4


def test_a_completed_execution_runs_again_only_when_forced(iron_condor, alice):
    _, strategy = iron_condor
    body = {"strategy_id": strategy["strategy_id"], "execution_type": "entry"}
    assert alice.post("/options/executions/manual", body).status == 200
    again = alice.post("/options/executions/manual", body)
    assert again.status == 409
    assert "force" in again.error["message"]
    # At once, a forced run is taken for a double submit (a second click, a retry): 409
    double = alice.post("/options/executions/manual", {**body, "force": True})
    assert double.status == 409
    assert "double submit" in double.error["message"]
    assert len(alice.get("/options/orders").body["items"]) == 8
    # A key not sent before says it is a new run.
    forced = alice.post(
        "/options/executions/manual",
        {**body, "force": True},
        headers={"Idempotency-Key": "again-1"},
    )
    assert forced.status == 200
    assert forced.body["successful_orders"] == 8
    assert len(alice.get("/options/orders").body["items"]) == 16


def test_another_users_executions_are_invisible_and_unrunnable(iron_condor, alice, bob):
    _, strategy = iron_condor
    alice.post(
        "/options/executions/manual",
        {"strategy_id": strategy["strategy_id"], "execution_type": "entry"},
    )
    assert bob.get("/options/orders").body["items"] == []
    assert bob.get("/options/positions").body["items"] == []
    assert bob.get("/options/executions/history").body["items"] == []
    refused = bob.post(
        "/options/executions/manual",
        {"strategy_id": strategy["strategy_id"], "execution_type": "entry"},
    )
    assert refused.status == 404


def test_bad_execution_requests_name_the_field(alice):
    assert (
        alice.post(
            "/options/executions/manual", {"strategy_id": "x", "execution_type": "both"}
        ).error["details"][0]["field"]
        == "execution_type"
    )
    assert (
        alice.get("/options/executions/schedule?date=2026-02-30").error["details"][0]["field"]
        == "date"
    )
    assert (
        alice.get("/options/executions/history?from_date=2026-03-05&to_date=2026-03-01").error[
            "details"
        ][0]["field"]
        == "from_date"
    )


def test_the_daily_report_gives_each_strategy_and_account_its_orders_fills_positions_and_pnl(
    iron_condor, alice, bob
):
    _, strategy = iron_condor
    sid = strategy["strategy_id"]
    assert alice.get("/options/reports/daily?date=2026-03-02").body["strategies"] == []
    alice.post("/options/executions/manual", {"strategy_id": sid, "execution_type": "entry"})
    report = alice.get("/options/reports/daily?date=2026-03-02").body
    (row,) = report["strategies"]
    assert (row["strategy_name"], row["orders"]) == ("Weekly Iron Condor NIFTY", 8)
    accounts = {a["client_id"]: a for a in row["accounts"]}
    assert {c: (a["orders"], a["filled"], len(a["positions"])) for c, a in accounts.items()} == {
        "ZERODHA123": (4, 4, 4),
        "ANGELONE456": (4, 4, 4),
    }
    # An iron condor collects premium: the shorts are worth more than the wings.
    assert all(a["premium"] > 0 for a in accounts.values())
    assert (
        round(sum(a["pnl"] for a in accounts.values()), 2)
        == round(report["pnl"], 2)
        == round(row["pnl"], 2)
    )
    assert bob.get("/options/reports/daily?date=2026-03-02").body["strategies"] == []
    assert alice.get("/options/reports/daily?date=2026-02-30").status == 422


def test_the_history_answers_with_what_reads_and_names_what_does_not(
    iron_condor, alice, repository
):
    _, strategy = iron_condor
    body = {"strategy_id": strategy["strategy_id"], "execution_type": "entry"}
    assert alice.post("/options/executions/manual", body).status == 200
    forced = {**body, "force": True}
    again = alice.post("/options/executions/manual", forced, headers={"Idempotency-Key": "k2"})
    assert again.status == 200
    first = f"EXECUTION_ENTRY#{strategy['strategy_id']}#20260302"
    spoil(repository, "sub-alice", first, lambda item: item.update(status="MISLAID"))
    history = alice.get("/options/executions/history")
    assert history.status == 200, history.body
    # The two manual runs read; the day's scheduled entry (skipped by the first) does not.
    assert [r["status"] for r in history.body["items"]] == ["COMPLETED", "COMPLETED"]
    (unreadable,) = history.body["unreadable"]
    assert unreadable["key"] == first
    assert unreadable["reason"].startswith("status: ")


def test_a_manual_run_without_an_executor_records_nothing(service, repository):
    strategy_id = iron_condor_of(service, "sub-alice")
    queries = queries_on(repository, FixedClock(MONDAY_0930))
    with pytest.raises(RuntimeError, match="without an executor"):
        queries.run_now("sub-alice", strategy_id, "entry", force=False)
    assert queries.history("sub-alice", strategy_id, None, None).records == []
