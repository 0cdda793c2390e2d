"""What the local platform keeps while it runs stays bounded however many minutes and days it runs:
each structure that used to grow with the run is driven through many days here and its size
asserted (never the time taken, never the process's memory)."""

import threading
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from moto.cognitoidp.models import CognitoIdpUserPool
from moto.core.common_models import BaseModel

from local_platform import bounds
from local_platform.asl import Execution
from local_platform.engine import (
    EXECUTION_NAMES_KEPT_FOR,
    FAILURES_KEPT,
    FINISHED_EXECUTIONS_KEPT,
    ApiError,
    LocalStepFunctions,
    Scheduler,
)
from local_platform.wiring import create_table, load
from shared_utils.domain.clock import SteppedClock
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import PATHS_KEPT, SimulatedMarket

START = datetime(2026, 3, 2, 3, 45, tzinfo=UTC)  # 09:15 IST


# -- the simulated market's intraday paths ----------------------------------------------------
def test_the_simulated_market_keeps_a_bounded_number_of_days_paths_and_redraws_an_old_one_the_same():
    calendar = built_in_calendar()
    market = SimulatedMarket(built_in_catalog(), calendar)
    first = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    day, spots = first, {}
    for _ in range(120):  # about six months of trading days, three underlyings each
        for underlying in ("NIFTY", "BANKNIFTY", "SENSEX"):
            spots[(underlying, day)] = market.spot(underlying, day)
        following = calendar.next_trading_day(day.date())
        day = datetime.combine(following, day.timetz())
    assert len(market._paths) == PATHS_KEPT
    # A day long dropped is drawn again from its seed: the same prices as the first time.
    assert market.spot("NIFTY", first) == spots[("NIFTY", first)]


def test_the_path_in_use_is_kept_while_older_ones_go():
    market = SimulatedMarket(built_in_catalog(), built_in_calendar())
    today = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    market.spot("NIFTY", today)
    for offset in range(1, 2 * PATHS_KEPT):
        market.spot("NIFTY", today)  # used every "minute" while other days come and go
        market.spot("BANKNIFTY", today + timedelta(days=offset))
    assert ("NIFTY", date(2026, 3, 2)) in market._paths


# -- the engine's Step Functions executions and failures -------------------------------------
class Functions:
    def invoke(self, name, payload):
        return {"status": "COMPLETED"}


def step_functions():
    SteppedClock.start_at(START)
    clock = SteppedClock()
    scheduler = Scheduler(clock, stepped=True, log=lambda text: None)
    machines = LocalStepFunctions(
        load(), "stack", "ap-south-1", Functions(), scheduler, clock, log=lambda text: None
    )
    return machines, scheduler, clock


def run_workflow(machines, clock, name):
    """One execution of the execution workflow, run to its end at once (its wait has passed)."""
    arn = machines.arns["execution_workflow"]
    document = '{"execute_at": "2026-03-02T03:00:00Z", "executions": [{"strategy_id": "s"}]}'
    machines.scheduler = _Inline()
    machines.start_execution(arn, name, document)
    return arn


class _Inline:
    """Runs a workflow's steps as they are submitted (the scheduler's threads are not under test)."""

    def submit(self, label, job, own_thread=False):
        job()

    def at(self, moment, label, job, own_thread=False):
        job()


def test_finished_executions_are_kept_up_to_a_bound_and_their_names_are_still_refused():
    machines, _, clock = step_functions()
    for number in range(10 * FINISHED_EXECUTIONS_KEPT):
        arn = run_workflow(machines, clock, f"run-{number}")
    assert len(machines.executions) == FINISHED_EXECUTIONS_KEPT
    assert all(e.status == "SUCCEEDED" for e in machines.executions.values())
    # The newest are the ones kept, whole, for the operator's view.
    assert (arn, f"run-{10 * FINISHED_EXECUTIONS_KEPT - 1}") in machines.executions
    # A name used long ago is still refused, as Step Functions refuses it for 90 days.
    with pytest.raises(ApiError) as refused:
        machines.start_execution(arn, "run-0", "{}")
    assert refused.value.code == "ExecutionAlreadyExists"


def test_the_names_of_finished_executions_are_forgotten_after_ninety_days():
    machines, _, clock = step_functions()
    day = START
    for number in range(2 * FINISHED_EXECUTIONS_KEPT):
        SteppedClock.start_at(day)
        arn = run_workflow(machines, clock, f"daily-{number}")
        day += timedelta(days=1)
    kept_for_days = EXECUTION_NAMES_KEPT_FOR.days
    remembered = len(machines.executions) + len(machines.used_names)
    assert remembered <= kept_for_days + 1
    # One older than that may be used again.
    machines.start_execution(
        arn, "daily-0", '{"execute_at": "2026-03-02T03:00:00Z", "executions": []}'
    )


def test_a_running_execution_is_never_dropped_however_many_finish_after_it():
    machines, _, clock = step_functions()
    arn = machines.arns["execution_workflow"]
    waiting = Execution(
        machines.machines[arn],
        "waiting",
        {"execute_at": "2027-01-01T00:00:00Z"},
        START,
        Functions().invoke,
    )
    machines.executions[(arn, "waiting")] = waiting
    for number in range(3 * FINISHED_EXECUTIONS_KEPT):
        run_workflow(machines, clock, f"run-{number}")
    assert machines.executions[(arn, "waiting")] is waiting


def test_the_scheduler_keeps_the_latest_failures_and_counts_them_all():
    SteppedClock.start_at(START)
    scheduler = Scheduler(SteppedClock(), stepped=True, log=lambda text: None)
    for number in range(3 * FAILURES_KEPT):
        scheduler.submit(f"broken-{number}", lambda: 1 / 0)
    scheduler.run(threading.Event(), until=START)
    assert scheduler.failed == 3 * FAILURES_KEPT
    assert len(scheduler.failures) == FAILURES_KEPT
    assert scheduler.failures[-1].startswith(f"broken-{3 * FAILURES_KEPT - 1}:")


# -- Cognito's tokens -------------------------------------------------------------------------
class Now:
    def __init__(self, at: float):
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def patched_pool(monkeypatch):
    """moto's pool with the bound installed, on a clock the test moves (restored afterwards)."""
    now = Now(1_800_000_000.0)
    for name in ("create_id_token", "create_access_token", "create_refresh_token", "create_jwt"):
        monkeypatch.setattr(CognitoIdpUserPool, name, getattr(CognitoIdpUserPool, name))
    monkeypatch.setattr(bounds, "_patched", [])
    monkeypatch.setattr("moto.cognitoidp.models.time.time", now)
    bounds.forget_expired_tokens(now)
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="ap-south-1")
        pool = idp.create_user_pool(PoolName="traders")["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            RefreshTokenValidity=2,  # days: the client's own validity is the one that counts
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="alice", TemporaryPassword="Tr4der!pass1")
        idp.admin_set_user_password(
            UserPoolId=pool, Username="alice", Password="Tr4der!pass", Permanent=True
        )

        def sign_in():
            return idp.admin_initiate_auth(
                UserPoolId=pool,
                ClientId=client,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "alice", "PASSWORD": "Tr4der!pass"},
            )["AuthenticationResult"]

        from moto.cognitoidp.models import cognitoidp_backends

        backend = cognitoidp_backends["123456789012"]["ap-south-1"]
        yield now, sign_in, backend.user_pools[pool], idp


def test_a_pool_signed_into_every_two_hours_for_twenty_days_holds_one_validity_of_tokens(
    patched_pool,
):
    now, sign_in, pool, idp = patched_pool
    for _ in range(20 * 12):  # a sign-in every two hours for twenty days
        now.at += 2 * 3600
        latest = sign_in()
    # An ID or access token lives an hour: only the latest is valid. A refresh token lives the
    # client's two days: those two days' sign-ins, not the twenty days'.
    assert len(pool.id_tokens) == 1
    assert len(pool.access_tokens) == 1
    assert len(pool.refresh_tokens) <= 2 * 12
    # The latest tokens still work as Cognito's do.
    assert idp.get_user(AccessToken=latest["AccessToken"])["Username"] == "alice"
    refreshed = idp.admin_initiate_auth(
        UserPoolId=pool.id,
        ClientId=next(iter(pool.clients)),
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": latest["RefreshToken"]},
    )["AuthenticationResult"]
    assert refreshed["IdToken"]


def test_an_expired_access_token_is_refused_as_cognito_refuses_it(patched_pool):
    now, sign_in, _, idp = patched_pool
    first = sign_in()
    now.at += 2 * 3600
    sign_in()  # issuing forgets the expired one
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.get_user(AccessToken=first["AccessToken"])


# -- moto's record of every model it made -----------------------------------------------------
@pytest.fixture
def untracked(monkeypatch):
    """moto with the tracking patch installed (moto's own __new__ put back afterwards)."""
    monkeypatch.setattr(BaseModel, "__new__", BaseModel.__dict__["__new__"])
    monkeypatch.setattr(bounds, "_patched", [])
    bounds.stop_tracking_model_instances()


def table_requests(writes: int) -> tuple[list[dict], int]:
    """A trader's writes to one table, and the reads, failed conditions and cancelled transactions
    around them: every answer, without its request id, and how many model instances moto tracked
    at the end (mock_aws's exit empties its record)."""
    answers = []
    with mock_aws():
        db = boto3.client("dynamodb", region_name="ap-south-1")

        def answer(call, **request):
            try:
                reply = call(**request)
            except db.exceptions.ClientError as error:
                reply = {
                    "error": error.response["Error"],
                    "reasons": error.response.get("CancellationReasons"),
                }
            reply.pop("ResponseMetadata", None)
            answers.append(reply)

        db.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        for number in range(writes):
            key = {"pk": {"S": "USER#alice"}, "sk": {"S": f"ORDER#{number % 7}"}}
            answer(db.put_item, TableName="t", Item={**key, "price": {"N": str(number)}})
            answer(
                db.update_item,
                TableName="t",
                Key=key,
                UpdateExpression="SET filled = :f",
                ConditionExpression="price < :p",
                ExpressionAttributeValues={":f": {"BOOL": True}, ":p": {"N": str(number % 3)}},
                ReturnValues="ALL_NEW",
            )
            answer(
                db.transact_write_items,
                TransactItems=[
                    {"Put": {"TableName": "t", "Item": {**key, "sk": {"S": "COPY"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": key,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ],
            )
        answer(
            db.query,
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "USER#alice"}},
        )
        answer(db.scan, TableName="t", Limit=3)
        answer(
            db.delete_item,
            TableName="t",
            Key={"pk": {"S": "USER#alice"}, "sk": {"S": "ORDER#1"}},
            ReturnValues="ALL_OLD",
        )
        answer(db.get_item, TableName="t", Key={"pk": {"S": "USER#alice"}, "sk": {"S": "ORDER#1"}})
        tracked = bounds.tracked_instances()
    return answers, tracked


def test_moto_without_its_instance_record_answers_every_request_the_same():
    unpatched, _ = table_requests(40)
    moto_new = BaseModel.__dict__["__new__"]
    try:
        bounds._patched.remove("model instances") if "model instances" in bounds._patched else None
        bounds.stop_tracking_model_instances()
        patched, _ = table_requests(40)
    finally:
        setattr(BaseModel, "__new__", moto_new)  # noqa: B010 - moto's own, put back
        bounds._patched.remove("model instances")
    assert patched == unpatched


def test_moto_keeps_no_record_of_the_items_written_however_many(untracked):
    _, tracked = table_requests(150)
    assert tracked == 0


def test_without_the_patch_moto_keeps_every_version_of_every_item_written():
    """The growth the patch removes (if moto stops it, this fails: drop the patch)."""
    _, tracked = table_requests(150)
    assert tracked > 3 * 150


# -- the table's TTL, which moto does not apply -------------------------------------------------
def test_items_past_their_ttl_are_removed_at_each_start_so_a_month_of_days_leaves_a_weeks_worth():
    spec = load().table
    pk, sk, ttl = spec["partition_key"], spec["sort_key"], spec["ttl_attribute"]
    with mock_aws():
        db = boto3.client("dynamodb", region_name="ap-south-1")
        create_table(db, "t")
        day = datetime(2026, 3, 2, 3, 25, tzinfo=UTC)
        for number in range(30):  # a month of days: each leaves a mark that expires a week later
            removed = bounds.remove_expired_items(db, "t", spec, day.timestamp())
            assert removed == (1 if number >= 7 else 0)
            db.put_item(
                TableName="t",
                Item={
                    pk: {"S": "PLATFORM"},
                    sk: {"S": f"MARK#{number:02d}"},
                    ttl: {"N": str(int((day + timedelta(days=7)).timestamp()) - 1)},
                },
            )
            day += timedelta(days=1)
        db.put_item(TableName="t", Item={pk: {"S": "USER#alice"}, sk: {"S": "ORDER#1"}})
        bounds.remove_expired_items(db, "t", spec, day.timestamp())
        left = db.scan(TableName="t")["Items"]
    # The marks of the last week still to expire, and the trader's order (no TTL) as it was.
    assert sorted(item[sk]["S"] for item in left) == [
        *(f"MARK#{number:02d}" for number in range(24, 30)),
        "ORDER#1",
    ]
