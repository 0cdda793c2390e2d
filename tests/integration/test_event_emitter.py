"""The emitter's events on a real (moto) bus, routed by rules made from the same definitions as the stack's."""

import json
import time

import boto3
import pytest
from moto import mock_aws

from lambda_functions import event_emitter
from local_platform.api_gateway import LambdaContext
from shared_utils.engine.emitter import event_types


@pytest.fixture
def routed_bus(monkeypatch):
    with mock_aws():
        events, sqs = (
            boto3.client("events", region_name="ap-south-1"),
            boto3.client("sqs", region_name="ap-south-1"),
        )
        events.create_event_bus(Name="options-bus")
        queues = {}
        for event in event_types()[0]:
            url = sqs.create_queue(QueueName=event.name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(
                Name=event.name,
                EventBusName="options-bus",
                EventPattern=json.dumps(
                    {"source": [event.source], "detail-type": [event.detail_type]}
                ),
            )
            events.put_targets(
                Rule=event.name, EventBusName="options-bus", Targets=[{"Id": "q", "Arn": arn}]
            )
            queues[event.name] = url
        monkeypatch.setenv("EVENT_BUS_NAME", "options-bus")
        monkeypatch.setenv("PLATFORM_CLOCK_START", "2026-03-02T09:29:00.400+05:30")
        monkeypatch.setenv("PLATFORM_CLOCK_SPEED", "1")
        monkeypatch.setenv("PLATFORM_CLOCK_ANCHOR", repr(time.time()))
        yield sqs, queues


def test_a_tick_puts_each_due_event_where_its_rule_routes_it(routed_bus):
    sqs, queues = routed_bus
    result = event_emitter.lambda_handler(
        {"trading_date": "2026-03-02", "scheduled_tick": None}, LambdaContext("event_emitter")
    )
    assert result["market_open"] is True
    assert result["next_tick"] == "2026-03-02T04:00:00.000Z"
    assert result["emitted"] == [
        "schedule_strategy_trigger",
        "check_stop_loss",
        "check_duplicate_orders",
        "refresh_market_data",
    ]
    for url in queues.values():
        (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        delivered = json.loads(message["Body"])
        assert delivered["detail"]["tick"] == "2026-03-02T03:59:00.000Z"
        assert delivered["detail"]["phase"] == "MARKET_OPEN"


@pytest.mark.parametrize(
    ("scheduled_tick", "triggered"),
    [
        (None, True),  # the first tick of a timer run: started late, or started again
        ("2026-03-02T04:00:00.000Z", True),  # the tick of 09:30, run at 10:01: the timer stalled
        ("2026-03-02T04:31:00.000Z", False),  # on time: the trigger waits for 10:04
    ],
)
def test_a_tick_after_a_gap_triggers_the_schedule_at_once(
    routed_bus, monkeypatch, scheduled_tick, triggered
):
    sqs, queues = routed_bus
    monkeypatch.setenv("PLATFORM_CLOCK_START", "2026-03-02T10:01:00.400+05:30")
    monkeypatch.setenv("PLATFORM_CLOCK_ANCHOR", repr(time.time()))
    result = event_emitter.lambda_handler(
        {"trading_date": "2026-03-02", "scheduled_tick": scheduled_tick},
        LambdaContext("event_emitter"),
    )
    assert ("schedule_strategy_trigger" in result["emitted"]) is triggered
    messages = sqs.receive_message(
        QueueUrl=queues["schedule_strategy_trigger"], MaxNumberOfMessages=10
    ).get("Messages", [])
    assert len(messages) == (1 if triggered else 0)
    if triggered:
        window = json.loads(messages[0]["Body"])["detail"]["window"]
        assert window == {"from": "2026-03-02T04:31:00.000Z", "to": "2026-03-02T04:35:00.000Z"}
