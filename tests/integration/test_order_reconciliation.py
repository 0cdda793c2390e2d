"""Check Duplicate Orders: recent orders against the brokers' books, duplicates cancelled or
recorded and alerted once, resting orders caught up; and Refresh Market Data."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.adapters.dynamodb.order_followup import OrderFollowUpTable
from shared_utils.domain.clock import IST, FixedClock, utc_iso
from shared_utils.domain.enums import ExecutionType, OrderStatus, OrderType
from shared_utils.domain.models import LegUpdate
from shared_utils.engine.market_refresh import refresh_market_data
from shared_utils.engine.reconciliation import OrderReconciliation
from shared_utils.market.expiries import ExpiryCalendar
from tests.integration.test_position_watch import book
from tests.integration.test_schedule_trigger import iron_condor, spoil
from tests.integration.test_strategy_executor import (
    CALENDAR,
    CATALOG,
    MARKET,
    MONDAY_0930,
    executor_on,
    run,
    scheduled,
)

ALERT = {"source": "options.trading.validation", "detail_type": "Duplicate Order Detected"}


class SendsTwice(PaperBroker):
    """A broker (or an SDK retrying under it) that lets every order through twice."""

    def place_order(self, request):
        first = super().place_order(request)
        super().place_order(request)
        return first


class Rests(PaperBroker):
    """Accepts orders and leaves them working; they fill later, when the book is next read."""

    filled_later = False

    def place_order(self, request):
        order = super().place_order(
            request.model_copy(update={"order_type": OrderType.LIMIT, "price": Decimal("0.05")})
            if request.transaction_type == "BUY"
            else request
        )
        return order

    def order_book(self):
        book = super().order_book()
        if Rests.filled_later:
            book = [
                o.model_copy(
                    update={
                        "status": OrderStatus.COMPLETE,
                        "average_price": Decimal("12.30"),
                        "filled_quantity": o.quantity,
                    }
                )
                if o.status == "OPEN"
                else o
                for o in book
            ]
        return book


def executor_with(broker_class, repository, clock):
    def broker_for(user_id, client_id, broker, mode):
        return broker_class(repository, MARKET, CATALOG, CALENDAR, clock, user_id, client_id)

    return executor_on(repository, MARKET, clock, broker_for), broker_for


def reconciliation(repository, clock, broker_for, published):
    return OrderReconciliation(
        OrderFollowUpTable(repository),
        engine_tables(repository, clock).positions,
        clock,
        broker_for,
        published.extend,
        ALERT,
        timedelta(minutes=5),
    )


def positions(repository, strategy_id):
    return {
        (p["client_id"], int(p["leg_no"])): int(p["quantity"])
        for p in book(repository).held_items("sub-alice", strategy_id)
    }


def test_an_order_that_reached_the_broker_twice_is_recorded_so_positions_match_and_alerted_once(
    service, repository
):
    strategy_id = iron_condor(service, "sub-alice")
    executor, broker_for = executor_with(SendsTwice, repository, FixedClock(MONDAY_0930))
    run(executor, scheduled(repository, MONDAY_0930))
    assert (
        positions(repository, strategy_id)[("ZERODHA123", 1)] == -195
    )  # what the platform meant to sell

    published = []
    clock = FixedClock(MONDAY_0930 + timedelta(minutes=1))
    result = reconciliation(repository, clock, broker_for, published).run()
    assert (result.orders_checked, result.duplicates_found, result.alerts) == (8, 8, 8)
    # Both copies filled: the account holds twice the lots, and so do our positions (the exit closes all).
    assert positions(repository, strategy_id)[("ZERODHA123", 1)] == -390
    paper = {
        p.tradingsymbol: p.quantity
        for p in PaperBroker(
            repository, MARKET, CATALOG, CALENDAR, clock, "sub-alice", "ZERODHA123"
        ).positions()
    }
    ours = {
        p["tradingsymbol"]: int(p["quantity"])
        for p in book(repository).held_items("sub-alice", strategy_id, "ZERODHA123")
    }
    assert paper == ours
    detail = json.loads(published[0]["Detail"])
    assert published[0]["DetailType"] == "Duplicate Order Detected"
    assert detail["strategy_id"] == strategy_id
    assert detail["duplicate_order_id"] != detail["our_order_id"]

    again = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=2)), broker_for, published
    ).run()
    assert again.duplicates_found == 8
    assert again.alerts == 0
    assert len(published) == 8
    assert positions(repository, strategy_id)[("ZERODHA123", 1)] == -390


def test_a_duplicate_still_working_is_cancelled(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)

    class SecondCopyRests(PaperBroker):
        def place_order(self, request):
            first = super().place_order(request)
            price = Decimal("0.05") if request.transaction_type == "BUY" else Decimal("5000")
            super().place_order(
                request.model_copy(update={"order_type": OrderType.LIMIT, "price": price})
            )
            return first

    executor, broker_for = executor_with(SecondCopyRests, repository, clock)
    run(executor, scheduled(repository, MONDAY_0930))
    published = []
    result = reconciliation(repository, clock, broker_for, published).run()
    assert (result.duplicates_found, result.duplicates_cancelled, result.alerts) == (8, 8, 8)
    book = PaperBroker(
        repository, MARKET, CATALOG, CALENDAR, clock, "sub-alice", "ANGELONE456"
    ).order_book()
    assert sorted({o.status for o in book}) == ["CANCELLED", "COMPLETE"]
    assert positions(repository, strategy_id)[("ANGELONE456", 3)] == -260  # nothing extra is held
    assert json.loads(published[0]["Detail"])["duplicate_status"] == "CANCELLED"


def test_a_resting_order_that_fills_later_is_recorded_and_moves_its_position(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    Rests.filled_later = False
    executor, broker_for = executor_with(Rests, repository, clock)
    result = run(executor, scheduled(repository, MONDAY_0930))
    assert result["status"] == "COMPLETED"
    assert ("ZERODHA123", 2) not in positions(
        repository, strategy_id
    )  # the long wing is still working
    Rests.filled_later = True
    outcome = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=2)), broker_for, []
    ).run()
    assert outcome.filled_since == 4
    assert outcome.duplicates_found == 0
    assert positions(repository, strategy_id)[("ZERODHA123", 2)] == 195
    again = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=3)), broker_for, []
    ).run()
    assert again.filled_since == 0
    assert positions(repository, strategy_id)[("ZERODHA123", 2)] == 195


def test_an_intent_that_never_reached_the_broker_is_failed_after_the_grace(service, repository):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    executor, broker_for = executor_with(PaperBroker, repository, clock)
    run(executor, scheduled(repository, MONDAY_0930))
    orders, _ = repository.query_prefix("sub-alice", "ORDER#")
    lost = {
        **orders[0],
        keys.SK: orders[0][keys.SK][:-4] + "LOST",
        "tag": "LOST",
        "status": "INTENT",
        "placed_at": utc_iso(MONDAY_0930),
    }
    for field in ("broker_order_id", "fill_price", "position_applied"):
        lost.pop(field, None)
    repository.commit([db.put(lost)])
    within = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=1)), broker_for, []
    ).run()
    assert within.never_reached_broker == 0
    after = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=3)), broker_for, []
    ).run()
    assert after.never_reached_broker == 1
    assert repository.get("sub-alice", lost[keys.SK])["status"] == "FAILED"


def test_an_account_whose_broker_cannot_be_reached_is_reported_and_the_others_reconciled(
    service, repository
):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    executor, paper = executor_with(PaperBroker, repository, clock)
    run(executor, scheduled(repository, MONDAY_0930))

    def broker_for(user_id, client_id, broker, mode):
        if client_id == "ANGELONE456":
            raise ConnectionError("Angel One is down")
        return paper(user_id, client_id, broker, mode)

    result = reconciliation(repository, clock, broker_for, []).run()
    assert result.accounts_checked == 1
    assert result.orders_checked == 4
    assert result.account_errors == ["ANGELONE456: ConnectionError: Angel One is down"]


def test_finished_orders_older_than_the_lookback_are_left_alone(service, repository):
    iron_condor(service, "sub-alice")
    executor, broker_for = executor_with(SendsTwice, repository, FixedClock(MONDAY_0930))
    run(executor, scheduled(repository, MONDAY_0930))
    result = reconciliation(
        repository, FixedClock(MONDAY_0930 + timedelta(minutes=11)), broker_for, []
    ).run()
    # Two time buckets and the working orders: the same queries however many users there are.
    assert result.orders_checked == 0
    assert result.index_queries == 3 * keys.SCHEDULE_SHARDS


def test_an_order_still_working_is_followed_however_long_it_rests(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    Rests.filled_later = False
    executor, broker_for = executor_with(Rests, repository, FixedClock(MONDAY_0930))
    run(executor, scheduled(repository, MONDAY_0930))
    an_hour_later = FixedClock(MONDAY_0930 + timedelta(hours=1))
    assert (
        reconciliation(repository, an_hour_later, broker_for, []).run().orders_checked == 4
    )  # the 4 resting buys
    Rests.filled_later = True
    assert reconciliation(repository, an_hour_later, broker_for, []).run().filled_since == 4
    assert positions(repository, strategy_id)[("ANGELONE456", 4)] == 260
    assert (
        reconciliation(repository, an_hour_later, broker_for, []).run().orders_checked == 0
    )  # none working now


def test_an_order_that_does_not_read_is_reported_and_the_others_are_reconciled(service, repository):
    iron_condor(service, "sub-alice")
    executor, broker_for = executor_with(SendsTwice, repository, FixedClock(MONDAY_0930))
    run(executor, scheduled(repository, MONDAY_0930))
    orders, _ = repository.query_prefix("sub-alice", keys.orders_on(None))
    spoiled = orders[0][keys.SK]
    spoil(repository, "sub-alice", spoiled, lambda item: item.update(status="MISLAID"))
    clock = FixedClock(MONDAY_0930 + timedelta(minutes=1))
    result = reconciliation(repository, clock, broker_for, []).run()
    assert (result.orders_checked, result.duplicates_found, result.alerts) == (7, 7, 7)
    (error,) = result.order_errors
    assert error.startswith(f"sub-alice {spoiled}: unreadable: status: ")


class Counting:
    def __init__(self):
        self.refreshed = []

    def refresh(self, underlying, expiry):
        self.refreshed.append((underlying, expiry.isoformat()))


def test_refresh_fetches_the_chains_of_open_positions_and_of_the_next_minutes_entries(
    service, repository
):
    strategy_id = iron_condor(service, "sub-alice")
    for leg_no in (1, 2, 3, 4):
        service.legs.update("sub-alice", strategy_id, leg_no, LegUpdate(expiry_offset=1))
    market = Counting()
    at_0929 = datetime(2026, 3, 2, 9, 29, tzinfo=IST)
    stores = engine_tables(repository, FixedClock(at_0929))
    before = refresh_market_data(
        positions=stores.positions,
        schedule=stores.schedule,
        market=market,
        catalog=CATALOG,
        expiries=ExpiryCalendar(CALENDAR),
        clock=FixedClock(at_0929),
    )
    # Nothing held yet; the 09:30 entry picks strikes from next week's NIFTY chain (Tuesday 10 March).
    assert (before.for_positions, before.for_entries, market.refreshed) == (
        0,
        1,
        [("NIFTY", "2026-03-10")],
    )
    executor_on(
        repository,
        MARKET,
        FixedClock(MONDAY_0930),
        lambda u, c, b, m: PaperBroker(
            repository, MARKET, CATALOG, CALENDAR, FixedClock(MONDAY_0930), u, c
        ),
    ).execute(scheduled(repository, MONDAY_0930))
    market.refreshed.clear()
    later = refresh_market_data(
        positions=stores.positions,
        schedule=stores.schedule,
        market=market,
        catalog=CATALOG,
        expiries=ExpiryCalendar(CALENDAR),
        clock=FixedClock(datetime(2026, 3, 2, 11, 0, tzinfo=IST)),
    )
    assert (later.for_positions, later.for_entries, market.refreshed) == (
        1,
        0,
        [("NIFTY", "2026-03-10")],
    )


def test_refresh_reports_a_schedule_item_that_does_not_read_and_refreshes_the_rest(
    service, repository
):
    for user in ("sub-alice", "sub-bob"):
        strategy_id = iron_condor(service, user)
        for leg_no in (1, 2, 3, 4):
            service.legs.update(user, strategy_id, leg_no, LegUpdate(expiry_offset=1))
    items, _ = repository.query_prefix("sub-bob", keys.schedule_prefix(ExecutionType.ENTRY))
    (bobs,) = [item for item in items if item["weekday"] == "MONDAY"]
    spoil(repository, "sub-bob", bobs[keys.SK], lambda item: item.update(total_lots="many"))
    market = Counting()
    at_0929 = datetime(2026, 3, 2, 9, 29, tzinfo=IST)
    stores = engine_tables(repository, FixedClock(at_0929))
    result = refresh_market_data(
        positions=stores.positions,
        schedule=stores.schedule,
        market=market,
        catalog=CATALOG,
        expiries=ExpiryCalendar(CALENDAR),
        clock=FixedClock(at_0929),
    )
    assert (result.for_entries, market.refreshed) == (1, [("NIFTY", "2026-03-10")])
    (failed,) = result.failed
    assert failed.startswith(f"sub-bob {bobs[keys.SK]}: unreadable: total_lots: ")
