"""Orders that make sense: every order that ends unplaced says why, an entry the market cannot take
is refused with its reason before any order exists, and two legs never trade one contract from
opposite sides. Through the API, as a trader runs a manual entry or exit."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from lambda_functions import composition
from local_platform.api_gateway import LocalApiGateway
from local_platform.wiring import load
from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.dynamodb.order_followup import OrderFollowUpTable
from shared_utils.domain.enums import OrderStatus, OrderType
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.engine.reconciliation import OrderReconciliation
from shared_utils.market.calendar import built_in_calendar
from tests.conftest import TABLE_NAME
from tests.integration.conftest import CACHED_FACTORIES, Api, StubVerifier
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

UNPLACED = {"REJECTED", "FAILED", "CANCELLED", "LAPSED"}


def unplaced_orders_without_a_reason(dynamodb) -> list[dict]:
    """Every stored order that ended unplaced and does not say why (the whole table, every user)."""
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME):
        items += [
            {k: TypeDeserializer().deserialize(v) for k, v in i.items()} for i in page["Items"]
        ]
    return [
        item
        for item in items
        if item.get("entity_type") == "ORDER"
        and item.get("status") in UNPLACED
        and not str(item.get("reason") or "").strip()
    ]


@pytest.fixture(autouse=True)
def every_unplaced_order_says_why(dynamodb):
    yield
    assert unplaced_orders_without_a_reason(dynamodb) == []


class Platform:
    """The API at a moment of the platform's clock (each move builds the collaborators anew)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
        monkeypatch.setenv("PLATFORM_CLOCK_SPEED", "1")

    def at(self, moment: str) -> Api:
        self.monkeypatch.setenv("PLATFORM_CLOCK_START", moment)
        for factory in CACHED_FACTORIES:
            factory.cache_clear()
        return Api(LocalApiGateway(load(), StubVerifier()), "alice")


@pytest.fixture
def platform(dynamodb, monkeypatch):
    yield Platform(monkeypatch)
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


def iron_condor(alice: Api, legs=LEGS) -> str:
    for account in BROKER_ACCOUNTS:
        assert alice.post("/options/broker-accounts", account).status == 201
    basket = alice.post("/options/baskets", BASKET).body
    strategy = alice.post(f"/options/baskets/{basket['basket_id']}/strategies", STRATEGY).body
    sid = strategy["strategy_id"]
    assert alice.post(f"/options/strategies/{sid}/legs", legs).status == 201, legs
    assert alice.post(f"/options/strategies/{sid}/allocations/advanced", ALLOCATIONS).status == 201
    return sid


def legs_with(**changes) -> dict:
    legs = copy.deepcopy(LEGS)
    for leg in legs["legs"]:
        leg.update(changes)
    return legs


def enter(alice: Api, sid: str) -> dict:
    run = alice.post("/options/executions/manual", {"strategy_id": sid, "execution_type": "entry"})
    assert run.status == 200, run.body
    return run.body


def orders(alice: Api, sid: str, on: str) -> list[dict]:
    return alice.get(f"/options/orders?strategy_id={sid}&date={on}").body["items"]


def test_an_entry_after_the_close_on_expiry_day_is_refused_with_the_reason_and_sends_nothing(
    platform,
):
    # 3 March 2026 is a holiday: the NIFTY weekly expires on Monday 2 March.
    alice = platform.at("2026-03-02T15:45:00+05:30")
    sid = iron_condor(alice)
    run = enter(alice, sid)
    assert (run["status"], run["successful_orders"]) == ("FAILED", 0)
    assert [f["reason"] for f in run["failures"]] == [
        (
            "entry refused, nothing was placed: the market is closed (15:45 IST; today's session "
            "is 09:15-15:30 IST); entries need an open session"
        )
    ]
    assert orders(alice, sid, "2026-03-02") == []


def test_an_entry_on_a_holiday_names_it(platform):
    alice = platform.at("2026-03-03T10:00:00+05:30")
    sid = iron_condor(alice)
    (failure,) = enter(alice, sid)["failures"]
    assert "the market is closed today (2026-03-03: " in failure["reason"]
    assert "a trading holiday); entries need an open session" in failure["reason"]


def test_an_entry_too_close_to_its_expirys_last_close_is_refused_when_the_legs_do_not_roll(
    platform,
):
    alice = platform.at("2026-03-02T15:16:00+05:30")
    sid = iron_condor(alice)
    run = enter(alice, sid)
    assert run["status"] == "FAILED"
    assert [f["reason"] for f in run["failures"]] == [
        (
            "entry refused, nothing was placed: legs 1, 2, 3, 4: NIFTY 2026-03-02 (WEEKLY) expires "
            "at 15:30 IST today and entries on it stop at 15:15 IST (15 minutes before); the leg "
            "does not roll to the next expiry (expiry_rollover NONE)"
        )
    ]
    assert orders(alice, sid, "2026-03-02") == []


def test_legs_that_roll_take_the_next_expiry_once_todays_can_no_longer_be_worked(platform):
    alice = platform.at("2026-03-02T15:16:00+05:30")
    sid = iron_condor(alice, legs_with(expiry_rollover="NEXT"))
    run = enter(alice, sid)
    assert (run["status"], run["successful_orders"]) == ("COMPLETED", 8), run
    placed = orders(alice, sid, "2026-03-02")
    assert {o["expiry"] for o in placed} == {"2026-03-10"}
    assert {o["status"] for o in placed} == {"COMPLETE"}


def test_an_expiry_day_entry_before_the_cutoff_trades_that_days_contracts(platform):
    alice = platform.at("2026-03-02T15:10:00+05:30")
    sid = iron_condor(alice, legs_with(expiry_rollover="NEXT"))
    assert enter(alice, sid)["status"] == "COMPLETED"
    assert {o["expiry"] for o in orders(alice, sid, "2026-03-02")} == {"2026-03-02"}


def test_wings_by_delta_that_land_on_the_shorts_contracts_refuse_the_entry_naming_the_legs(
    platform,
):
    # Wings at the default 0.10 delta, shorts at 0.20: half an hour before an expiry's close the
    # chain has no strike between them, and both land on one strike.
    legs = copy.deepcopy(LEGS)
    for leg in legs["legs"]:
        if leg["transaction_type"] == "BUY":
            leg["entry_by"] = "DELTA"
    alice = platform.at("2026-12-01T15:00:00+05:30")
    sid = iron_condor(alice, legs)
    run = enter(alice, sid)
    assert run["status"] == "FAILED"
    (failure,) = run["failures"]
    reason = failure["reason"]
    assert reason.startswith("entry refused, nothing was placed: legs 1 (SELL PUT) and 2 (BUY PUT)")
    assert (
        "; legs 3 (SELL CALL) and 4 (BUY CALL) resolve to the same contract, the 2026-12-01 "
        in reason
    )
    assert "a BUY and a SELL of one contract is no position" in reason
    assert orders(alice, sid, "2026-12-01") == []


def test_an_exit_after_the_close_is_sent_and_says_why_the_broker_refused_it(platform):
    alice = platform.at("2026-03-02T09:30:00+05:30")
    sid = iron_condor(alice, legs_with(expiry_offset=1))
    assert enter(alice, sid)["status"] == "COMPLETED"
    alice = platform.at("2026-03-02T16:00:00+05:30")
    run = alice.post("/options/executions/manual", {"strategy_id": sid, "execution_type": "exit"})
    assert run.body["status"] == "FAILED"
    assert (
        run.body["failed_orders"] == 8
    )  # sent, never refused by the platform: closing lowers risk
    closed = "the market is closed: NSE F&O trades 09:15-15:30 IST on trading days (now Mon 2026-03-02 16:00 IST)"
    assert {f["reason"] for f in run.body["failures"]} == {closed}
    exits = [o for o in orders(alice, sid, "2026-03-02") if o["execution_type"] == "EXIT"]
    assert len(exits) == 8
    assert {(o["status"], o["reason"]) for o in exits} == {("REJECTED", closed)}


class Silent(PaperBroker):
    """A broker that refuses without a word, or never answers and keeps no trace of the order."""

    def __init__(self, *args, times_out=False):
        super().__init__(*args)
        self.times_out = times_out

    def place_order(self, request):
        if self.times_out:
            raise TimeoutError()
        placed = super().place_order(request)
        return placed.model_copy(update={"status": OrderStatus.REJECTED, "status_message": None})

    def orders_by_tag(self, tag):
        return []


def test_a_refusal_or_a_failure_without_a_message_still_says_what_happened(platform, monkeypatch):
    def silent(user_id, client_id, broker, mode):
        return Silent(
            composition.table(),
            composition.market(),
            built_in_catalog(),
            built_in_calendar(),
            composition.clock(),
            user_id,
            client_id,
            times_out=client_id == "ANGELONE456",
        )

    monkeypatch.setattr(composition, "broker_for", silent)
    alice = platform.at("2026-03-02T09:30:00+05:30")
    sid = iron_condor(alice)
    run = enter(alice, sid)
    assert (run["status"], run["failed_orders"]) == ("FAILED", 8)
    reasons = {(o["client_id"], o["status"], o["reason"]) for o in orders(alice, sid, "2026-03-02")}
    assert len(reasons) == 5  # one rejection without a word; four timeouts, each with its tag
    assert reasons == {
        ("ZERODHA123", "REJECTED", "the broker answered REJECTED without saying why"),
    } | {
        (
            "ANGELONE456",
            "FAILED",
            f"the broker did not take the order (TimeoutError) and its book has no order with the tag {o['tag']}",
        )
        for o in orders(alice, sid, "2026-03-02")
        if o["client_id"] == "ANGELONE456"
    }


class Rests(PaperBroker):
    """Hedges rest at a limit of 0.05 (working); once `refused`, the broker shows them REJECTED
    without a word. With `twice`, every order reaches the book a second time, resting (a buy at
    0.05, a sell at 5000)."""

    refused = False

    def __init__(self, *args, twice=False):
        super().__init__(*args)
        self.twice = twice

    def place_order(self, request):
        price = Decimal("0.05") if request.transaction_type == "BUY" else Decimal("5000")
        resting = request.model_copy(update={"order_type": OrderType.LIMIT, "price": price})
        if self.twice:
            first = super().place_order(request)
            super().place_order(resting)
            return first
        return super().place_order(resting if request.transaction_type == "BUY" else request)

    def orders_by_tag(self, tag):
        return [self._as_shown(o) for o in super().orders_by_tag(tag)]

    def order_book(self):
        return [self._as_shown(o) for o in super().order_book()]

    def _as_shown(self, order):
        if Rests.refused and order.status is OrderStatus.OPEN:
            return order.model_copy(update={"status": OrderStatus.REJECTED, "status_message": None})
        return order


def reconcile_with(broker_for):
    return OrderReconciliation(
        OrderFollowUpTable(composition.table()),
        composition.engine().positions,
        composition.clock(),
        broker_for,
        [].extend,
        {"source": "options.trading.validation", "detail_type": "Duplicate Order Detected"},
        timedelta(minutes=5),
    ).run()


def resting_broker(twice=False):
    def broker_for(user_id, client_id, broker, mode):
        return Rests(
            composition.table(),
            composition.market(),
            built_in_catalog(),
            built_in_calendar(),
            composition.clock(),
            user_id,
            client_id,
            twice=twice,
        )

    return broker_for


def test_an_order_the_broker_later_refuses_silently_says_so_once_reconciled(platform, monkeypatch):
    monkeypatch.setattr(Rests, "refused", False)
    monkeypatch.setattr(composition, "broker_for", resting_broker())
    alice = platform.at("2026-03-02T09:30:00+05:30")
    sid = iron_condor(alice)
    assert enter(alice, sid)["status"] == "COMPLETED"  # the hedges rest, the shorts filled
    monkeypatch.setattr(Rests, "refused", True)
    assert reconcile_with(resting_broker()).ended_unfilled == 4
    hedges = [o for o in orders(alice, sid, "2026-03-02") if o["transaction_type"] == "BUY"]
    assert {(o["status"], o["reason"]) for o in hedges} == {
        ("REJECTED", "the broker answered REJECTED without saying why")
    }


def test_an_extra_copy_the_reconciliation_cancels_says_who_cancelled_it(
    platform, monkeypatch, dynamodb
):
    monkeypatch.setattr(Rests, "refused", False)
    monkeypatch.setattr(composition, "broker_for", resting_broker(twice=True))
    alice = platform.at("2026-03-02T09:30:00+05:30")
    sid = iron_condor(alice)
    assert enter(alice, sid)["status"] == "COMPLETED"
    assert reconcile_with(resting_broker(twice=True)).duplicates_cancelled == 8
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME):
        items += [
            {k: TypeDeserializer().deserialize(v) for k, v in i.items()} for i in page["Items"]
        ]
    copies = [i for i in items if i.get("entity_type") == "ORDER" and i.get("duplicate_of")]
    assert len(copies) == 8
    assert [(c["status"], c["reason"]) for c in copies] == [
        (
            "CANCELLED",
            f"an extra copy of order {c['duplicate_of']} at the broker: cancelled by the platform",
        )
        for c in copies
    ]


def test_an_exit_after_its_contracts_expired_today_sends_nothing_and_says_they_settle(platform):
    alice = platform.at("2026-03-02T09:30:00+05:30")
    sid = iron_condor(alice)  # the 2 March weekly: it expires at today's close
    assert enter(alice, sid)["status"] == "COMPLETED"
    alice = platform.at("2026-03-02T15:40:00+05:30")
    run = alice.post("/options/executions/manual", {"strategy_id": sid, "execution_type": "exit"})
    assert (run.body["status"], run.body["successful_orders"], run.body["failed_orders"]) == (
        "COMPLETED",
        0,
        0,
    )
    assert {s["reason"] for s in run.body["skipped"]} == {"expired: settled by the exchange"}
    assert len(run.body["skipped"]) == 8
    assert [o for o in orders(alice, sid, "2026-03-02") if o["execution_type"] == "EXIT"] == []
