"""How many requests the configuration plane's reads make to DynamoDB (issue 12): a strategy's
detail is at most two, started together; the other GETs are counted here too, so that a change that
adds a request to them shows up. The counts come from the table client's own botocore events."""

import threading
from decimal import Decimal

import pytest

from lambda_functions import composition
from shared_utils.adapters.dynamodb import metrics
from shared_utils.engine.performance import MetricCounts
from tests.conftest import TABLE_NAME

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


def test_a_strategy_detail_is_two_requests_started_together(alice, counted, requests):
    _, strategy_id = counted
    requests.reset()
    detail = alice.get(f"/options/strategies/{strategy_id}")
    assert detail.status == 200
    assert sorted(requests.operations) == ["GetItem", "Query"]
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
    assert sorted(requests.operations) == ["GetItem", "Query"]
    assert detail["basket_id"] is None
    assert [leg["leg_no"] for leg in detail["legs"]] == [1, 2, 3]
    _as_before(dynamodb, strategy_id)
    assert alice.get(path).body == detail


def test_the_other_configuration_reads_start_their_requests_together(alice, counted, requests):
    basket, strategy_id = counted
    reads = {
        "/options/strategies": 2,  # the page of strategies and the metrics, together
        f"/options/baskets/{basket['basket_id']}": 3,  # the basket, its strategies, the metrics
        f"/options/strategies?basket_id={basket['basket_id']}": 3,
        f"/options/strategies/{strategy_id}/allocations": 2,
        f"/options/strategies/{strategy_id}/legs": 1,
        "/options/baskets": 1,
        "/options/broker-accounts": 1,
    }
    for path, most in reads.items():
        requests.reset()
        assert alice.get(path).status == 200, path
        assert len(requests.operations) <= most, (path, requests.operations)
