"""The Schedule Strategy Trigger: what is due is recorded once and set going, whatever the users."""

from datetime import datetime

import pytest

from shared_utils.adapters.aws.execution_workflow import workflow_payload
from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.enums import ExecutionType
from shared_utils.domain.models import (
    AdvancedAllocationsRequest,
    BrokerAccountCreate,
    LegsCreate,
    StrategyCreate,
)
from shared_utils.engine.trigger import trigger
from shared_utils.market.calendar import built_in_calendar
from tests.journey import ALLOCATIONS, BROKER_ACCOUNTS, LEGS, STRATEGY


def iron_condor(service, user):
    for account in BROKER_ACCOUNTS:
        service.broker_accounts.register(user, BrokerAccountCreate(**account))
    strategy = service.strategies.create(user, StrategyCreate.model_validate(STRATEGY))
    service.legs.add(user, strategy.strategy_id, LegsCreate.model_validate(LEGS).legs)
    service.allocations.create(
        user,
        strategy.strategy_id,
        AdvancedAllocationsRequest.model_validate(ALLOCATIONS).allocations,
    )
    return strategy.strategy_id


def spoil(repository, user_id, sort_key, change):
    """Store the item at `sort_key` as `change` leaves it: data no model reads (written by hand,
    or by an older or newer version of the platform)."""
    item = repository.get(user_id, sort_key)
    change(item)
    repository.commit([db.put(item)])


class Workflows:
    def __init__(self, failing=False):
        self.started, self.failing = [], failing

    def __call__(self, payload):
        if self.failing:
            raise RuntimeError("Step Functions is unavailable")
        self.started.append(payload)


def run(repository, workflows, start, end, clock=None, covered=True):
    """One trigger over [start, end]; `covered`: the day's earlier windows were covered already
    (the watermark stands at `start`), as on a day the platform ran from the open."""
    clock = clock or FixedClock(start)
    stores = engine_tables(repository, clock)
    if covered:
        stores.executions.cover(start.astimezone(IST).date(), start)
    return trigger(
        start,
        end,
        schedule=stores.schedule,
        executions=stores.executions,
        calendar=built_in_calendar(),
        clock=clock,
        start_workflow=lambda execute_at, refs: workflows(workflow_payload(execute_at, refs)),
    )


MONDAY_0929, MONDAY_0933 = (
    datetime(2026, 3, 2, 9, 29, tzinfo=IST),
    datetime(2026, 3, 2, 9, 33, tzinfo=IST),
)


def test_an_entry_due_at_0930_is_recorded_and_its_workflow_waits_for_0930(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    workflows = Workflows()
    result = run(repository, workflows, MONDAY_0929, MONDAY_0933)
    assert (result.created, result.workflows_started, result.discovery_queries) == (1, 1, 5 * 2 * 8)
    (payload,) = workflows.started
    assert payload["execute_at"] == "2026-03-02T04:00:00.000Z"
    assert payload["executions"] == [
        {
            "user_id": "sub-alice",
            "sort_key": f"EXECUTION_ENTRY#{strategy_id}#20260302",
            "strategy_id": strategy_id,
            "execution_type": "ENTRY",
            "execution_date": "2026-03-02",
        }
    ]
    record = repository.get("sub-alice", f"EXECUTION_ENTRY#{strategy_id}#20260302")
    assert (
        record["status"],
        record["execution_time"],
        record["total_lots"],
        record["workflow"],
    ) == ("SCHEDULED", "09:30", 18, "STARTED")
    assert record["brokers_involved"] == ["ZERODHA123", "ANGELONE456"]


def test_a_second_trigger_finds_the_record_and_starts_nothing(service, repository):
    iron_condor(service, "sub-alice")
    run(repository, Workflows(), MONDAY_0929, MONDAY_0933)
    again = Workflows()
    result = run(repository, again, MONDAY_0929, MONDAY_0933)
    assert (result.created, result.already_there, again.started) == (0, 1, [])


def test_a_start_that_failed_is_made_again_by_the_retried_trigger(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    with pytest.raises(RuntimeError):
        run(repository, Workflows(failing=True), MONDAY_0929, MONDAY_0933)
    assert (
        repository.get("sub-alice", f"EXECUTION_ENTRY#{strategy_id}#20260302")["workflow"]
        == "PENDING"
    )
    retried = Workflows()
    run(repository, retried, MONDAY_0929, MONDAY_0933)
    assert len(retried.started) == 1


def test_exits_on_friday_and_nothing_on_other_days_or_holidays(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    friday = Workflows()
    run(
        repository,
        friday,
        datetime(2026, 3, 6, 15, 19, tzinfo=IST),
        datetime(2026, 3, 6, 15, 23, tzinfo=IST),
    )
    assert [e["sort_key"] for p in friday.started for e in p["executions"]] == [
        f"EXECUTION_EXIT#{strategy_id}#20260306"
    ]
    tuesday = Workflows()
    assert (
        run(
            repository,
            tuesday,
            datetime(2026, 3, 10, 9, 29, tzinfo=IST),
            datetime(2026, 3, 10, 9, 33, tzinfo=IST),
        ).created
        == 0
    )
    holiday = run(
        repository,
        Workflows(),
        datetime(2026, 3, 3, 9, 29, tzinfo=IST),
        datetime(2026, 3, 3, 9, 33, tzinfo=IST),
    )
    assert (holiday.discovery_queries, holiday.skipped_days) == (0, ["2026-03-03"])


def test_a_schedule_item_that_does_not_read_is_reported_and_everyone_else_runs(service, repository):
    iron_condor(service, "sub-alice")
    iron_condor(service, "sub-bob")
    items, _ = repository.query_prefix("sub-bob", keys.schedule_prefix(ExecutionType.ENTRY))
    (bobs,) = [item for item in items if item["weekday"] == "MONDAY"]

    def yearly(item):
        item["plan"]["legs"][0]["expiry_type"] = "YEARLY"

    spoil(repository, "sub-bob", bobs[keys.SK], yearly)
    workflows = Workflows()
    result = run(repository, workflows, MONDAY_0929, MONDAY_0933)
    assert result.created == 1
    (payload,) = workflows.started
    assert [e["user_id"] for e in payload["executions"]] == ["sub-alice"]
    (error,) = result.errors
    assert error.startswith(f"2026-03-02T04:00:00.000Z sub-bob {bobs[keys.SK]}: unreadable: ")
    assert "expiry_type" in error


def test_discovery_costs_the_same_requests_for_one_user_or_twenty(service, repository):
    for n in range(20):
        iron_condor(service, f"sub-user-{n:02d}")
    workflows = Workflows()
    result = run(repository, workflows, MONDAY_0929, MONDAY_0933)
    assert result.discovery_queries == 5 * 2 * 8
    assert result.created == 20
    (payload,) = workflows.started
    assert sorted(e["user_id"] for e in payload["executions"]) == [
        f"sub-user-{n:02d}" for n in range(20)
    ]


def test_the_handler_starts_the_express_workflow_from_an_eventbridge_event(
    service, repository, monkeypatch
):
    import json

    import boto3

    from lambda_functions import composition, schedule_strategy_trigger
    from local_platform.api_gateway import LambdaContext
    from tests.conftest import TABLE_NAME

    iron_condor(service, "sub-alice")
    iam = boto3.client("iam", region_name="ap-south-1")
    role = iam.create_role(RoleName="workflow", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = boto3.client("stepfunctions", region_name="ap-south-1")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    arn = sfn.create_state_machine(
        name="execution-workflow", definition=definition, roleArn=role, type="EXPRESS"
    )["stateMachineArn"]
    monkeypatch.setenv("EXECUTION_WORKFLOW_ARN", arn)
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("EVENT_BUS_NAME", "options-bus")
    monkeypatch.setenv("PLATFORM_CLOCK_START", "2026-03-02T09:29:00.300+05:30")
    composition.configuration.cache_clear()
    event = {
        "source": "options.trading.scheduler",
        "detail-type": "Schedule Strategy Trigger",
        "detail": {
            "window": {"from": "2026-03-02T03:59:00.000Z", "to": "2026-03-02T04:03:00.000Z"}
        },
    }
    result = schedule_strategy_trigger.lambda_handler(
        event, LambdaContext("schedule_strategy_trigger")
    )
    composition.configuration.cache_clear()
    assert (result["created"], result["workflows_started"]) == (1, 1)
    (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["execute_at"] == "2026-03-02T04:00:00.000Z"
    assert len(started["executions"]) == 1
