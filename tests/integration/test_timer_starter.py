"""The daily start names the timer by trading date, so starting twice starts once."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from lambda_functions import timer_starter
from local_platform.api_gateway import LambdaContext
from shared_utils.adapters.aws.timer import timer_execution_name


@pytest.fixture
def state_machine(monkeypatch):
    with mock_aws():
        iam = boto3.client("iam", region_name="ap-south-1")
        role = iam.create_role(RoleName="timer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name="ap-south-1")
        definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
        arn = sfn.create_state_machine(name="master-timer", definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
        monkeypatch.setenv("MASTER_TIMER_ARN", arn)
        yield sfn, arn


def test_the_execution_is_named_by_the_ist_trading_date():
    assert (
        timer_execution_name(datetime(2026, 3, 1, 19, 0, tzinfo=UTC)) == "master-timer-2026-03-02"
    )


def test_a_second_start_on_the_same_day_is_the_same_execution(state_machine):
    sfn, arn = state_machine
    event = {
        "time": "2026-03-02T03:30:00Z",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
    }
    first = timer_starter.lambda_handler(event, LambdaContext("timer_starter"))
    second = timer_starter.lambda_handler(event, LambdaContext("timer_starter"))
    assert first["running"] is True
    assert first["trading_date"] == "2026-03-02"
    assert second["running"] is True
    assert second["execution_arn"] == first["execution_arn"]
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == ["master-timer-2026-03-02"]
    started = sfn.describe_execution(executionArn=first["execution_arn"])
    assert json.loads(started["input"]) == {"trading_date": "2026-03-02", "next_tick": None}
    tomorrow = timer_starter.lambda_handler(
        {"time": "2026-03-03T03:30:00Z"}, LambdaContext("timer_starter")
    )
    assert tomorrow["running"] is True
    assert tomorrow["execution_arn"] != first["execution_arn"]


def test_a_start_after_the_days_timer_ended_says_so(state_machine):
    sfn, _ = state_machine
    event = {"time": "2026-03-02T03:30:00Z"}
    first = timer_starter.lambda_handler(event, LambdaContext("timer_starter"))
    sfn.stop_execution(executionArn=first["execution_arn"])
    again = timer_starter.lambda_handler(event, LambdaContext("timer_starter"))
    assert again == {
        **{k: first[k] for k in ("execution_name", "trading_date")},
        "running": False,
        "reason": "today's timer has already run",
    }
