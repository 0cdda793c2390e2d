"""How many requests the hot paths make to DynamoDB (issue 12): a strategy's detail is at most two;
the other configuration GETs are counted too, so that a change that adds a request shows up; the
trigger's writes for a minute's due strategies go out together; a minute's stop-loss check and the
executions of one minute read each item and each chain once. The configuration plane's counts come
from the table client's own botocore events."""

import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest

from lambda_functions import composition
from shared_utils.adapters.aws.execution_workflow import execution_of
from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.dynamodb import keys, metrics
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.adapters.dynamodb.market_cache import CachedMarketData
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.engine.performance import MetricCounts
from shared_utils.engine.position_watch import PositionWatch
from shared_utils.engine.trigger import TRIGGER_WRITES
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from tests.conftest import TABLE_NAME, OneRequestAtATime
from tests.integration.test_schedule_trigger import Workflows, iron_condor, run
from tests.integration.test_strategy_executor import (
    CALENDAR,
    CATALOG,
    MARKET,
    MONDAY_0930,
    executor_on,
)

USER = "sub-alice"


class Requests:
    """Every DynamoDB request the platform's table client makes, by operation."""

    def __init__(self, client):
        self.operations: list[str] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-call.dynamodb.*", self._made)

    def _made(self, model, **_):
        with self._lock:
            self.operations.append(model.name)

    def reset(self):
        with self._lock:
            self.operations.clear()


@pytest.fixture
def requests(gateway):
    return Requests(composition.table()._client)


@pytest.fixture
def counted(iron_condor, dynamodb):
    """The journey's iron condor, with performance metrics counted on the strategy and on both
    accounts (what finished executions leave behind)."""
    basket, strategy = iron_condor
    strategy_id = strategy["strategy_id"]
    added = [
        MetricCounts(USER, strategy_id, None, {"executions": 2, "executions_completed": 2}),
        MetricCounts(USER, strategy_id, "ZERODHA123", {"executions": 2, "orders_placed": 8}),
        MetricCounts(USER, strategy_id, "ANGELONE456", {"total_premium": Decimal("12.5")}),
    ]
    composition.table().commit(metrics.adds(added))
    return basket, strategy_id


def _as_before(dynamodb, strategy_id):
    """The strategy item as written before it held its legs and allocations: they are then read
    from their own items, the way every detail was read before issue 12."""
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"user_id": {"S": USER}, "sort_key": {"S": f"STRATEGY#{strategy_id}"}},
        UpdateExpression="REMOVE aggregate_legs, aggregate_allocations",
    )


def test_a_strategy_detail_is_two_requests(alice, counted, requests):
    _, strategy_id = counted
    requests.reset()
    detail = alice.get(f"/options/strategies/{strategy_id}")
    assert detail.status == 200
    # The strategy item, which lists its legs and allocations; then those and the metrics at once.
    assert requests.operations == ["GetItem", "BatchGetItem"]
    assert len(detail.body["legs"]) == 4
    assert len(detail.body["allocations"]) == 2


def test_a_strategy_detail_answers_as_it_did_when_read_item_by_item(
    alice, counted, requests, dynamodb
):
    _, strategy_id = counted
    detail = alice.get(f"/options/strategies/{strategy_id}").body
    allocations = alice.get(f"/options/strategies/{strategy_id}/allocations").body
    legs = alice.get(f"/options/strategies/{strategy_id}/legs").body
    assert detail["performance_metrics"]["total_executions"] == 2
    _as_before(dynamodb, strategy_id)
    requests.reset()
    assert alice.get(f"/options/strategies/{strategy_id}").body == detail
    assert len(requests.operations) == 4  # an old item: its legs and allocations read apart
    assert alice.get(f"/options/strategies/{strategy_id}/allocations").body == allocations
    assert alice.get(f"/options/strategies/{strategy_id}/legs").body == legs


def test_every_change_of_the_aggregate_keeps_the_detail_as_its_items_say(
    alice, counted, requests, dynamodb
):
    basket, strategy_id = counted
    path = f"/options/strategies/{strategy_id}"
    leg = alice.get(f"{path}/legs").body["items"][1]
    assert alice.put(f"{path}/legs/2", {"lots": 4, "version": leg["version"]}).status == 200
    assert alice.delete(f"{path}/legs/4").status == 204
    assert alice.delete(f"{path}/allocations/ANGELONE456").status == 204
    strategy = alice.get(path).body
    assert alice.put(path, {"status": "PAUSED", "version": strategy["version"]}).status == 200
    assert alice.delete(f"/options/baskets/{basket['basket_id']}").status == 204
    requests.reset()
    detail = alice.get(path).body
    assert requests.operations == ["GetItem", "BatchGetItem"]
    assert detail["basket_id"] is None
    assert [leg["leg_no"] for leg in detail["legs"]] == [1, 2, 3]
    _as_before(dynamodb, strategy_id)
    assert alice.get(path).body == detail


def test_the_other_configuration_reads_are_counted(alice, counted, requests):
    basket, strategy_id = counted
    reads = {
        "/options/strategies": 2,  # the page of strategies, then the metrics
        f"/options/baskets/{basket['basket_id']}": 3,  # the basket, its strategies, the metrics
        f"/options/strategies?basket_id={basket['basket_id']}": 3,
        f"/options/strategies/{strategy_id}/allocations": 2,
        f"/options/strategies/{strategy_id}/legs": 2,
        "/options/baskets": 1,
        "/options/broker-accounts": 1,
    }
    for path, most in reads.items():
        requests.reset()
        assert alice.get(path).status == 200, path
        assert len(requests.operations) <= most, (path, requests.operations)


class Distant:
    """The table as a trigger in AWS reaches it: each request a few milliseconds away (the wait
    is outside moto, so requests that are sent together wait together), counted, with how many
    writes were on their way at once (the discovery's shard queries go together anyway)."""

    WRITES = ("put_item", "update_item")

    DELAY = 0.03

    def __init__(self, client):
        self._client, self._lock = client, threading.Lock()
        self.operations: list[str] = []
        self.in_flight = self.most_in_flight = 0

    def __getattr__(self, name):
        call = getattr(self._client, name)

        write = name in self.WRITES

        def distant(*args, **kwargs):
            with self._lock:
                self.operations.append(name)
                self.in_flight += write
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                time.sleep(self.DELAY)
                return call(*args, **kwargs)
            finally:
                with self._lock:
                    self.in_flight -= write

        return distant


DUE = 24


def test_the_trigger_writes_a_minutes_due_strategies_together_not_one_after_another(
    service, dynamodb
):
    for n in range(DUE):
        iron_condor(service, f"sub-trader-{n}")
    distant = Distant(OneRequestAtATime(dynamodb))
    workflows = Workflows()
    start = datetime(2026, 3, 2, 9, 29, tzinfo=IST)
    result = run(
        ConfigurationRepository(distant, TABLE_NAME), workflows, start, start.replace(minute=33)
    )
    assert result.created == DUE
    assert workflows.started
    writes = [op for op in distant.operations if op in Distant.WRITES]
    assert writes.count("put_item") == DUE  # one conditional create per record, as before
    # and one mark of its workflow started; the day's watermark is set before the run and by it
    assert writes.count("update_item") == DUE + 2
    # Sent TRIGGER_WRITES at a time: the minute waits for DUE / TRIGGER_WRITES round trips.
    assert distant.most_in_flight >= TRIGGER_WRITES // 2
    assert distant.most_in_flight <= TRIGGER_WRITES


def test_a_minute_reads_each_chain_from_the_table_once_however_many_price_from_it(dynamodb):
    """Every execution due in one minute, and the stop-loss watch, price from one snapshot of each
    chain: the chain item is read once that minute, and again the next minute (where another
    process's refresh is seen)."""
    distant = Distant(OneRequestAtATime(dynamodb))
    repository = ConfigurationRepository(distant, TABLE_NAME)
    clock = FixedClock(datetime(2026, 3, 2, 9, 30, 5, tzinfo=IST))
    market = SimulatedMarket(built_in_catalog(), built_in_calendar())
    CachedMarketData(market, repository, clock).refresh("NIFTY", date(2026, 3, 10))
    cache = CachedMarketData(market, repository, clock)  # this minute's executions' process
    distant.operations.clear()
    chains = {cache.chain("NIFTY", date(2026, 3, 10)) for _execution in range(DUE)}
    assert len(chains) == 1
    assert distant.operations == ["get_item"]
    clock.advance(seconds=60)
    cache.chain("NIFTY", date(2026, 3, 10))
    assert distant.operations == ["get_item", "get_item"]


TRADERS = 3


def test_a_minutes_stop_loss_check_reads_each_position_and_chain_once(
    service, repository, dynamodb
):
    """Three traders' iron condors entered at 09:30, watched at 09:40: the open positions come from
    the index's shards, the chain once, each account's book once for its daily loss limit; no
    position is read again, however many are held."""
    for n in range(TRADERS):
        iron_condor(service, f"sub-trader-{n}")
    workflows = Workflows()
    opened = MONDAY_0930.replace(microsecond=0, second=0)
    run(repository, workflows, opened, opened)
    runner = executor_on(repository, MARKET, FixedClock(MONDAY_0930), _paper(repository))
    for payload in workflows.started:
        for execution in payload["executions"]:
            assert runner.execute(execution_of(execution)).status == "COMPLETED"
    watched_at = FixedClock(opened.replace(minute=40))
    # The Refresh Market Data handler has fetched the chains the positions hold this minute.
    held = engine_tables(repository, watched_at).positions.open_everywhere().records
    for underlying, expiry in {(p.underlying, p.expiry) for p in held}:
        CachedMarketData(MARKET, repository, watched_at).refresh(underlying, expiry)
    distant = Distant(OneRequestAtATime(dynamodb))
    table = ConfigurationRepository(distant, TABLE_NAME)
    stores = engine_tables(table, watched_at)
    market = CachedMarketData(MARKET, table, watched_at)
    watch = PositionWatch(
        stores.positions,
        stores.executions,
        executor_on(table, market, watched_at, _paper(table)),
        market,
        CALENDAR,
        watched_at,
    )
    result = watch.run()
    assert result.errors == []
    assert result.stop_losses == []
    accounts = TRADERS * 2  # each with a max_daily_loss: its whole book is read once
    assert result.positions_watched > accounts
    assert sorted(distant.operations) == sorted(
        ["query"] * (keys.SCHEDULE_SHARDS + accounts) + ["get_item"]
    )


def _paper(repository):
    def paper(user_id, client_id, broker, mode):
        return PaperBroker(
            repository, MARKET, CATALOG, CALENDAR, FixedClock(MONDAY_0930), user_id, client_id
        )

    return paper
