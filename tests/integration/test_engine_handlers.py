"""The three minute-by-minute handlers, run as Lambda runs them: environment in, result out."""

import json

import boto3
import pytest

from local_platform.api_gateway import LambdaContext
from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.domain.clock import FixedClock
from tests.conftest import TABLE_NAME
from tests.integration.conftest import CACHED_FACTORIES
from tests.integration.test_order_reconciliation import SendsTwice, executor_with
from tests.integration.test_position_watch import book
from tests.integration.test_schedule_trigger import iron_condor
from tests.integration.test_strategy_executor import MONDAY_0930, scheduled


@pytest.fixture
def lambda_environment(dynamodb, monkeypatch):
    events = boto3.client("events", region_name="ap-south-1")
    events.create_event_bus(Name="test-bus")
    queue = boto3.client("sqs", region_name="ap-south-1")
    url = queue.create_queue(QueueName="alerts")["QueueUrl"]
    arn = queue.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="alerts",
        EventBusName="test-bus",
        EventPattern=json.dumps({"detail-type": ["Duplicate Order Detected"]}),
    )
    events.put_targets(Rule="alerts", EventBusName="test-bus", Targets=[{"Id": "q", "Arn": arn}])
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("EVENT_BUS_NAME", "test-bus")
    monkeypatch.setenv("PLATFORM_CLOCK_SPEED", "0.000001")
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    yield lambda: [
        json.loads(m["Body"])
        for m in queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


def run(handler_module, monkeypatch, at: str):
    monkeypatch.setenv("PLATFORM_CLOCK_START", at)
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    return handler_module.lambda_handler({"detail": {}}, LambdaContext(handler_module.__name__))


def test_check_stop_loss_watches_every_open_position(
    service, repository, lambda_environment, monkeypatch
):
    from lambda_functions import check_stop_loss

    iron_condor(service, "sub-alice")
    executor_with(PaperBroker, repository, FixedClock(MONDAY_0930))[0].execute(
        scheduled(repository, MONDAY_0930)
    )
    result = run(check_stop_loss, monkeypatch, "2026-03-02T10:00:00+05:30")
    assert result["positions_watched"] == 8
    assert result["executions"] == []


def test_check_duplicate_orders_alerts_on_the_bus(
    service, repository, lambda_environment, monkeypatch
):
    from lambda_functions import check_duplicate_orders

    iron_condor(service, "sub-alice")
    executor_with(SendsTwice, repository, FixedClock(MONDAY_0930))[0].execute(
        scheduled(repository, MONDAY_0930)
    )
    result = run(check_duplicate_orders, monkeypatch, "2026-03-02T09:31:00+05:30")
    assert (result["duplicates_found"], result["alerts"]) == (8, 8)
    delivered = lambda_environment()
    assert delivered
    assert delivered[0]["detail-type"] == "Duplicate Order Detected"
    assert delivered[0]["source"] == "options.trading.validation"


def test_refresh_market_data_caches_the_chains_positions_need(
    service, repository, lambda_environment, monkeypatch
):
    from lambda_functions import refresh_market_data

    iron_condor(service, "sub-alice")
    executor_with(PaperBroker, repository, FixedClock(MONDAY_0930))[0].execute(
        scheduled(repository, MONDAY_0930)
    )
    result = run(refresh_market_data, monkeypatch, "2026-03-02T09:40:00+05:30")
    assert result["refreshed"] == ["NIFTY 2026-03-02"]
    assert result["failed"] == []
    assert repository.get("MARKET_DATA", "CHAIN#NIFTY#2026-03-02")["fetched_at"].startswith(
        "2026-03-02T04:10"
    )
    assert book(repository).open_items()


def test_a_leg_whose_expiry_no_longer_exists_does_not_stop_the_refresh_for_everyone(
    service, repository, lambda_environment, monkeypatch
):
    """BANKNIFTY has had no weeklies since November 2024: a plan compiled with one (an older
    platform, a catalogue that changed) is the executor's to refuse, not the refresh's to fail on."""
    from lambda_functions import refresh_market_data
    from shared_utils.adapters.dynamodb import keys
    from shared_utils.domain.enums import ExecutionType
    from tests.integration.test_schedule_trigger import spoil

    iron_condor(service, "sub-alice")
    iron_condor(service, "sub-bob")
    items, _ = repository.query_prefix("sub-bob", keys.schedule_prefix(ExecutionType.ENTRY))
    (bobs,) = [item for item in items if item["weekday"] == "MONDAY"]

    def banknifty_weekly(item):
        item["plan"]["underlying"] = "BANKNIFTY"
        for leg in item["plan"]["legs"]:
            leg["expiry_type"] = "WEEKLY"

    spoil(repository, "sub-bob", bobs[keys.SK], banknifty_weekly)
    result = run(refresh_market_data, monkeypatch, "2026-03-02T09:29:00+05:30")
    assert result["refreshed"] == ["NIFTY 2026-03-02"]
    assert result["failed"] == []
