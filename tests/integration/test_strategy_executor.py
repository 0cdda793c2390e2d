"""The executor: the spec's Iron Condor entered at 09:30 on Monday on both accounts, once, and closed on Friday."""

import threading
from datetime import datetime, timedelta

import pytest

from shared_utils.adapters.aws.execution_workflow import (
    execution_of,
    execution_payload,
    report_payload,
    workflow_payload,
)
from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.domain.models import AllocationUpdate, RiskLimits
from shared_utils.engine.executor import StrategyExecutor
from shared_utils.engine.trigger import trigger
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from shared_utils.market.expiries import ExpiryCalendar
from tests.integration.test_order_reasons import unplaced_orders_without_a_reason
from tests.integration.test_schedule_trigger import iron_condor

CATALOG, CALENDAR = built_in_catalog(), built_in_calendar()
MARKET = SimulatedMarket(CATALOG, CALENDAR, seed=7)
MONDAY_0930, FRIDAY_1520 = (
    datetime(2026, 3, 2, 9, 30, 0, 400000, tzinfo=IST),
    datetime(2026, 3, 6, 15, 20, 0, 400000, tzinfo=IST),
)


@pytest.fixture(autouse=True)
def every_unplaced_order_says_why(dynamodb):
    yield
    assert unplaced_orders_without_a_reason(dynamodb) == []


def executor(repository, clock, broker_for=None):
    def paper(user_id, client_id, broker, mode):
        return PaperBroker(repository, MARKET, CATALOG, CALENDAR, clock, user_id, client_id)

    return executor_on(repository, MARKET, clock, broker_for or paper)


def executor_on(repository, market, clock, broker_for):
    stores = engine_tables(repository, clock)
    return StrategyExecutor(
        stores.executions,
        stores.orders,
        stores.positions,
        market,
        CATALOG,
        ExpiryCalendar(CALENDAR),
        clock,
        broker_for,
    )


def run(executor, ref):
    """The executor's answer as the workflow receives it."""
    return report_payload(executor.execute(ref))


def scheduled(repository, at):
    """The execution the trigger starts at `at`. The timer is taken to have run every minute
    before (the watermarks say so, as on a week the platform ran), so this trigger covers its one
    minute: what it finds after a stop is test_missed_executions' to show."""
    starts = []
    stores = engine_tables(repository, FixedClock(at))
    minute = at.replace(second=0, microsecond=0)
    day_before = CALENDAR.trading_day_on_or_before(minute.date() - timedelta(days=1))
    stores.executions.cover(day_before, CALENDAR.session_on(day_before).close_at())
    stores.executions.cover(minute.date(), minute)
    trigger(
        minute,
        minute,
        schedule=stores.schedule,
        executions=stores.executions,
        calendar=CALENDAR,
        clock=FixedClock(at),
        start_workflow=lambda execute_at, refs: starts.append(workflow_payload(execute_at, refs)),
    )
    (payload,) = starts
    (execution,) = payload["executions"]
    return execution_of(execution)


def paper_book(repository, clock, client_id):
    return PaperBroker(repository, MARKET, CATALOG, CALENDAR, clock, "sub-alice", client_id)


def test_the_iron_condor_enters_on_both_accounts_with_their_lots_hedges_first(service, repository):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    result = run(executor(repository, clock), scheduled(repository, MONDAY_0930))
    assert (result["status"], result["successful_orders"], result["failed_orders"]) == (
        "COMPLETED",
        8,
        0,
    )
    for client_id, expected in (
        ("ZERODHA123", {1: -195, 2: 195, 3: -65, 4: 65}),
        ("ANGELONE456", {1: -65, 2: 65, 3: -260, 4: 260}),
    ):
        book = paper_book(repository, clock, client_id).order_book()
        assert all(o.status == "COMPLETE" for o in book)
        positions = {
            p.tradingsymbol: p.quantity
            for p in paper_book(repository, clock, client_id).positions()
        }
        assert sorted(positions.values()) == sorted(expected.values())
    record = repository.get("sub-alice", result["sort_key"])
    assert record["status"] == "COMPLETED"
    assert record["execution_results"]["successful_orders"] == 8
    assert (
        record["execution_results"]["total_premium"] > 0
    )  # an iron condor is entered for a credit


def test_running_the_same_execution_twice_or_at_once_places_each_order_once(service, repository):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    ref = scheduled(repository, MONDAY_0930)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(run(executor(repository, clock), ref)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["status"] for r in results) == ["ALREADY_CLAIMED", "COMPLETED"]
    assert run(executor(repository, clock), ref)["status"] == "ALREADY_CLAIMED"
    assert len(paper_book(repository, clock, "ZERODHA123").order_book()) == 4


def test_a_broker_that_times_out_after_accepting_leaves_no_duplicate(service, repository):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)

    class TimesOutAfterAccepting(PaperBroker):
        def place_order(self, request):
            super().place_order(request)
            raise TimeoutError("no answer from the broker")

    def broker_for(user_id, client_id, broker, mode):
        return TimesOutAfterAccepting(
            repository, MARKET, CATALOG, CALENDAR, clock, user_id, client_id
        )

    result = run(executor(repository, clock, broker_for), scheduled(repository, MONDAY_0930))
    assert (result["status"], result["successful_orders"]) == ("COMPLETED", 8)
    assert len(paper_book(repository, clock, "ANGELONE456").order_book()) == 4


def test_one_account_refusing_does_not_stop_the_other_and_the_execution_says_so(
    service, repository
):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)

    def broker_for(user_id, client_id, broker, mode):
        if client_id == "ANGELONE456":
            raise ConnectionError("Angel One session expired")
        return PaperBroker(repository, MARKET, CATALOG, CALENDAR, clock, user_id, client_id)

    result = run(executor(repository, clock, broker_for), scheduled(repository, MONDAY_0930))
    assert (result["status"], result["successful_orders"], result["failed_orders"]) == (
        "PARTIAL",
        4,
        4,
    )
    assert {f["reason"] for f in result["failures"]} == {"Angel One session expired"}
    assert len(paper_book(repository, clock, "ZERODHA123").order_book()) == 4


def test_an_order_that_would_break_a_risk_limit_is_not_sent(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    service.allocations.update(
        "sub-alice",
        strategy_id,
        "ZERODHA123",
        AllocationUpdate(risk_limits=RiskLimits(max_daily_trades=2)),
    )
    clock = FixedClock(MONDAY_0930)
    result = run(executor(repository, clock), scheduled(repository, MONDAY_0930))
    assert result["status"] == "PARTIAL"
    assert result["failed_orders"] == 4
    assert all("max_daily_trades 2" in f["reason"] for f in result["failures"])
    assert paper_book(repository, clock, "ZERODHA123").order_book() == []


def test_the_friday_exit_closes_every_position_on_the_account_that_holds_it(service, repository):
    from shared_utils.domain.models import LegUpdate

    strategy_id = iron_condor(service, "sub-alice")
    for leg_no in (1, 2, 3, 4):  # next week's expiry: still trading on Friday
        service.legs.update("sub-alice", strategy_id, leg_no, LegUpdate(expiry_offset=1))
    run(executor(repository, FixedClock(MONDAY_0930)), scheduled(repository, MONDAY_0930))
    clock = FixedClock(FRIDAY_1520)
    result = run(executor(repository, clock), scheduled(repository, FRIDAY_1520))
    assert result["status"] == "COMPLETED"
    assert result["successful_orders"] == 8
    for client_id in ("ZERODHA123", "ANGELONE456"):
        assert {p.quantity for p in paper_book(repository, clock, client_id).positions()} == {0}
    planned, _ = repository.query_prefix(
        "sub-alice", "ORDER#20260306#", filters={"client_id": "ZERODHA123"}
    )
    sides = [o["transaction_type"] for o in sorted(planned, key=lambda o: o["slice_no"])]
    assert sides == ["BUY", "BUY", "SELL", "SELL"]  # shorts bought back before longs are sold


def test_a_contract_that_expired_before_the_exit_is_left_to_settlement(service, repository):
    iron_condor(
        service, "sub-alice"
    )  # the spec's weekly: Tuesday 3 March is a holiday, so it expired on Monday
    run(executor(repository, FixedClock(MONDAY_0930)), scheduled(repository, MONDAY_0930))
    result = run(executor(repository, FixedClock(FRIDAY_1520)), scheduled(repository, FRIDAY_1520))
    assert (result["status"], result["successful_orders"], result["failed_orders"]) == (
        "COMPLETED",
        0,
        0,
    )


def test_the_handler_runs_an_execution_from_the_workflows_map_item(
    service, repository, monkeypatch
):
    from lambda_functions import strategy_executor
    from local_platform.api_gateway import LambdaContext
    from tests.conftest import TABLE_NAME
    from tests.integration.conftest import CACHED_FACTORIES

    iron_condor(service, "sub-alice")
    ref = scheduled(repository, MONDAY_0930)
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("PLATFORM_CLOCK_START", "2026-03-02T09:30:00.400+05:30")
    monkeypatch.setenv("PLATFORM_CLOCK_SPEED", "0.000001")
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    item = {"execution": execution_payload(ref), "execute_at": "2026-03-02T04:00:00.000Z"}
    result = strategy_executor.lambda_handler(item, LambdaContext("strategy_executor"))
    assert (result["status"], result["successful_orders"]) == ("COMPLETED", 8)
    assert (
        strategy_executor.lambda_handler(item, LambdaContext("strategy_executor"))["status"]
        == "ALREADY_CLAIMED"
    )
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


def test_an_unexpected_error_after_the_claim_finishes_the_execution_as_failed_with_the_reason(
    service, repository, monkeypatch
):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    runner = executor(repository, clock)
    monkeypatch.setattr(
        runner.risk,
        "refusal",
        lambda *args: (_ for _ in ()).throw(RuntimeError("table unavailable")),
    )
    ref = scheduled(repository, MONDAY_0930)
    result = run(runner, ref)
    assert result["status"] == "FAILED"
    assert "table unavailable" in result["failures"][0]["reason"]
    assert repository.get("sub-alice", ref.key)["status"] == "FAILED"


def test_orders_that_would_use_more_margin_than_the_allocation_allows_are_not_sent(
    service, repository
):
    from shared_utils.domain.models import BrokerAccountCreate

    strategy_id = iron_condor(service, "sub-alice")
    service.allocations.update(
        "sub-alice",
        strategy_id,
        "ANGELONE456",
        AllocationUpdate(risk_limits=RiskLimits(max_margin_utilization=1)),
    )
    clock = FixedClock(MONDAY_0930)
    result = run(executor(repository, clock), scheduled(repository, MONDAY_0930))
    assert (result["status"], result["successful_orders"], result["failed_orders"]) == (
        "PARTIAL",
        4,
        4,
    )
    reasons = {f["client_id"]: f["reason"] for f in result["failures"]}
    assert list(reasons) == ["ANGELONE456"]
    assert reasons["ANGELONE456"].startswith("max_margin_utilization 1%: these orders would use")
    assert paper_book(repository, clock, "ANGELONE456").order_book() == []
    assert BrokerAccountCreate(client_id="X1", broker="zerodha").paper_funds == 1000000


def test_an_account_that_has_lost_its_daily_limit_enters_nothing_more_that_day(service, repository):
    from shared_utils.engine.queries import ExecutionQueries
    from tests.integration.test_position_watch import Shocked

    strategy_id = iron_condor(service, "sub-alice")
    service.allocations.update(
        "sub-alice",
        strategy_id,
        "ZERODHA123",
        AllocationUpdate(risk_limits=RiskLimits(max_daily_loss=1000)),
    )
    run(executor(repository, FixedClock(MONDAY_0930)), scheduled(repository, MONDAY_0930))
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    shocked = Shocked(MARKET, "PUT", 4, at)

    def paper(user_id, client_id, broker, mode):
        return PaperBroker(
            repository, shocked, CATALOG, CALENDAR, FixedClock(at), user_id, client_id
        )

    again = executor_on(repository, shocked, FixedClock(at), paper)
    stores = engine_tables(repository, FixedClock(at))
    queries = ExecutionQueries(
        stores.executions,
        stores.orders,
        stores.positions,
        stores.schedule,
        FixedClock(at),
        shocked,
        again,
    )
    result = report_payload(queries.run_now("sub-alice", strategy_id, "entry", force=True))
    reasons = {f["client_id"]: f["reason"] for f in result["failures"]}
    assert list(reasons) == ["ZERODHA123"]
    assert reasons["ZERODHA123"].startswith("max_daily_loss 1000: this account has lost")
    assert result["successful_orders"] == 4  # Angel One has no daily limit


def test_a_claimed_execution_whose_stored_plan_no_longer_reads_finishes_failed_with_the_reason(
    service, repository
):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    ref = scheduled(repository, MONDAY_0930)
    item = repository.get("sub-alice", ref.key)
    item["plan"]["legs"][0]["expiry_type"] = "YEARLY"  # written by a version that knew more
    repository.commit([db.put(item)])
    result = run(executor(repository, clock), ref)
    assert result["status"] == "FAILED"
    assert "could not plan the orders" in result["failures"][0]["reason"]
    assert repository.get("sub-alice", ref.key)["status"] == "FAILED"
    assert run(executor(repository, clock), ref)["status"] == "ALREADY_CLAIMED"
