"""The patched moto answers every request as moto 5.2.5 itself does.

Two backends in one process (two regions of one `mock_aws`): every request goes to the unpatched
one with moto's own methods in place, then to the patched one with the patches applied, and the
two answers (or errors: code, message, cancellation reasons with their items) must be equal. The
tables are the platform's (`wiring.create_table`) and one with KEYS_ONLY and INCLUDE indexes.
"""

from __future__ import annotations

import pickle
import random
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from local_platform import moto_patches, wiring

SPEC = wiring.load().table
PK, SK = SPEC["partition_key"], SPEC["sort_key"]
(FIRST, SECOND) = SPEC["indexes"]
TABLE = "trading"
PROJECTED = "projected"
UNPATCHED_REGION, PATCHED_REGION = "eu-west-1", "ap-south-1"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _outcome(client: Any, operation: str, params: dict[str, Any]) -> Any:
    try:
        answer = getattr(client, operation)(**params)
    except ClientError as error:
        response = error.response
        return (
            "error",
            response["Error"].get("Code"),
            response["Error"].get("Message"),
            response.get("CancellationReasons"),
            response.get("Item"),
        )
    answer.pop("ResponseMetadata", None)
    return answer


class Twins:
    """The same requests to an unpatched and a patched backend; each answer compared."""

    def __init__(self) -> None:
        self.unpatched = boto3.client("dynamodb", region_name=UNPATCHED_REGION)
        self.patched = boto3.client("dynamodb", region_name=PATCHED_REGION)
        self.calls = 0

    def both(self, operation: str, **params: Any) -> Any:
        moto_patches.unapply()
        expected = _outcome(self.unpatched, operation, params)
        moto_patches.apply()
        answer = _outcome(self.patched, operation, params)
        assert answer == expected, f"{operation} {params}"
        self.calls += 1
        return answer

    def setup(self, action: Any) -> None:
        moto_patches.unapply()
        action(self.unpatched)
        moto_patches.apply()
        action(self.patched)

    def items(self, table: str = TABLE) -> list[dict[str, Any]]:
        """Every item of both tables (equal), scanned page by page."""
        found = []
        start: dict[str, Any] | None = None
        while True:
            page = self.both(
                "scan", TableName=table, **({"ExclusiveStartKey": start} if start else {})
            )
            found.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def query_all(self, **params: Any) -> list[Any]:
        """Every page of a query, each page compared."""
        pages = []
        start = None
        while True:
            page = self.both("query", **params, **({"ExclusiveStartKey": start} if start else {}))
            pages.append(page)
            if isinstance(page, tuple):  # an error, the same on both
                return pages
            start = page.get("LastEvaluatedKey")
            if not start:
                return pages


def _projected_table(client: Any) -> None:
    client.create_table(
        TableName=PROJECTED,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gk", "gs")
        ]
        + [{"AttributeName": "gn", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "KeysOnly",
                "KeySchema": [
                    {"AttributeName": "gk", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "Included",
                "KeySchema": [
                    {"AttributeName": "gk", "KeyType": "HASH"},
                    {"AttributeName": "gn", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
            },
            {
                "IndexName": "HashOnly",
                "KeySchema": [{"AttributeName": "gs", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )


@pytest.fixture
def twins():
    was_applied = moto_patches.applied()
    with mock_aws():
        pair = Twins()
        pair.setup(lambda client: wiring.create_table(client, TABLE))
        pair.setup(_projected_table)
        yield pair
    if was_applied:
        moto_patches.apply()
    else:
        moto_patches.unapply()


def _item(user: str, sort: str, **attributes: str | int) -> dict[str, Any]:
    item: dict[str, Any] = {PK: _s(user), SK: _s(sort)}
    for name, value in attributes.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else _s(value)
    return item


def _key(user: str, sort: str) -> dict[str, Any]:
    return {PK: _s(user), SK: _s(sort)}


def _index_fields(index: dict[str, str], partition: str, sort: str) -> dict[str, str]:
    return {index["partition_key"]: partition, index["sort_key"]: sort}


def _seed(twins: Twins, users: int = 3, per_user: int = 12) -> None:
    for u in range(users):
        for n in range(per_user):
            twins.both(
                "put_item",
                TableName=TABLE,
                Item=_item(
                    f"u{u}",
                    f"S#{n:03d}",
                    qty=n,
                    note=f"note {n}",
                    **_index_fields(FIRST, f"strategy-{n % 4}", f"alloc-{u}-{n:03d}"),
                    **_index_fields(SECOND, f"day-{n % 3}", f"09:{n:02d}"),
                ),
            )


# -- single writes ----------------------------------------------------------------------------------
def test_puts_gets_updates_and_deletes_with_conditions_answer_alike(twins):
    _seed(twins, users=1, per_user=4)
    twins.both("get_item", TableName=TABLE, Key=_key("u0", "S#001"))
    twins.both("get_item", TableName=TABLE, Key=_key("u0", "missing"))
    twins.both("get_item", TableName=TABLE, Key=_key("u0", "S#001"), ProjectionExpression="qty")
    twins.both(
        "put_item",
        TableName=TABLE,
        Item=_item("u0", "S#001", qty=9),
        ConditionExpression="attribute_not_exists(#k)",
        ExpressionAttributeNames={"#k": PK},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    twins.both(
        "put_item", TableName=TABLE, Item=_item("u0", "S#001", qty=9), ReturnValues="ALL_OLD"
    )
    for return_values in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
        twins.both(
            "update_item",
            TableName=TABLE,
            Key=_key("u0", "S#002"),
            UpdateExpression="SET qty = qty + :one, note = :note",
            ExpressionAttributeValues={":one": {"N": "1"}, ":note": _s(return_values)},
            ReturnValues=return_values,
        )
    twins.both(
        "update_item",
        TableName=TABLE,
        Key=_key("u0", "S#002"),
        UpdateExpression="SET qty = :zero",
        ConditionExpression="qty > :big",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":big": {"N": "100"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    twins.both(  # an update of an item that is not there creates it
        "update_item",
        TableName=TABLE,
        Key=_key("u0", "new"),
        UpdateExpression="SET qty = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    twins.both(  # an update that fails in moto's validation, after the copy was made
        "update_item",
        TableName=TABLE,
        Key=_key("u0", "S#003"),
        UpdateExpression="SET qty = qty + :text",
        ExpressionAttributeValues={":text": _s("x")},
    )
    twins.both(
        "update_item",
        TableName=TABLE,
        Key={PK: _s("u0")},
        UpdateExpression="SET qty = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    twins.both("update_item", TableName=TABLE, Key=_key("u0", "S#003"), UpdateExpression="SET")
    twins.both(
        "delete_item",
        TableName=TABLE,
        Key=_key("u0", "S#003"),
        ConditionExpression="qty = :nine",
        ExpressionAttributeValues={":nine": {"N": "9"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    twins.both("delete_item", TableName=TABLE, Key=_key("u0", "S#003"), ReturnValues="ALL_OLD")
    twins.both("delete_item", TableName=TABLE, Key=_key("u0", "S#003"), ReturnValues="ALL_OLD")
    twins.items()


# -- transactions -----------------------------------------------------------------------------------
def _put(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": item, **extra}}


def _update(key: dict[str, Any], expression: str, values: dict[str, Any], **extra: Any) -> Any:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
            **extra,
        }
    }


def _delete(key: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Delete": {"TableName": TABLE, "Key": key, **extra}}


def _check(key: dict[str, Any], condition: str, values: dict[str, Any], **extra: Any) -> Any:
    return {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": key,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            **extra,
        }
    }


ONE = {":one": {"N": "1"}}


def test_a_committed_transaction_answers_alike_and_writes_every_action(twins):
    _seed(twins, users=1, per_user=4)
    twins.both(
        "transact_write_items",
        TransactItems=[
            _put(_item("u0", "T#new", qty=1)),
            _update(_key("u0", "S#000"), "SET qty = qty + :one", ONE),
            _delete(_key("u0", "S#001")),
            _check(_key("u0", "S#002"), "qty = :two", {":two": {"N": "2"}}),
            _update(_key("u0", "T#created"), "SET qty = :one", ONE),
        ],
    )
    keys = {item[SK]["S"] for item in twins.items()}
    assert {"T#new", "T#created"} <= keys
    assert "S#001" not in keys


def test_a_transaction_cancelled_in_the_middle_leaves_nothing_of_it(twins):
    _seed(twins, users=1, per_user=5)
    before = twins.items()
    answer = twins.both(
        "transact_write_items",
        TransactItems=[
            _put(_item("u0", "T#new", qty=1)),
            _put(_item("u0", "S#004", qty=44, **_index_fields(FIRST, "moved", "x"))),
            _update(
                _key("u0", "S#000"),
                "SET qty = qty + :one, #g = :g",
                {**ONE, ":g": _s("m")},
                ExpressionAttributeNames={"#g": FIRST["partition_key"]},
            ),
            _delete(_key("u0", "S#001")),
            _update(_key("u0", "T#created"), "SET qty = :one", ONE),
            _check(
                _key("u0", "S#002"),
                "qty = :nine",
                {":nine": {"N": "9"}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            _put(_item("u0", "T#after", qty=1)),
            _delete(
                _key("u0", "S#003"),
                ConditionExpression="attribute_not_exists(qty)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        ],
    )
    assert answer[1] == "TransactionCanceledException"
    reasons = answer[3]
    assert [reason["Code"] for reason in reasons] == ["None"] * 5 + [
        "ConditionalCheckFailed",
        "None",
        "ConditionalCheckFailed",
    ]
    assert reasons[5]["Item"][SK] == _s("S#002")
    assert twins.items() == before
    for index in (FIRST, SECOND):  # nothing of it is seen through the indexes either
        for partition in ("moved", "m", "strategy-0", "strategy-1", "day-0"):
            twins.query_all(
                TableName=TABLE,
                IndexName=index["name"],
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": index["partition_key"]},
                ExpressionAttributeValues={":p": _s(partition)},
            )


def test_a_transaction_with_two_actions_on_one_item_is_refused_before_any_write(twins):
    _seed(twins, users=1, per_user=2)
    before = twins.items()
    answer = twins.both(
        "transact_write_items",
        TransactItems=[
            _put(_item("u0", "T#new", qty=1)),
            _update(_key("u0", "S#000"), "SET qty = :one", ONE),
            _delete(_key("u0", "S#000")),
        ],
    )
    assert answer[1] == "ValidationException"
    assert twins.items() == before


@pytest.mark.parametrize(
    "bad",
    [
        _put({PK: _s("u0"), "qty": {"N": "1"}}),  # no sort key
        _put({PK: {"N": "1"}, SK: _s("x")}),  # the partition key of the wrong type
        _update(_key("u0", "S#001"), "SET qty = qty + :text", {":text": _s("x")}),
        _update({PK: _s("u0")}, "SET qty = :one", ONE),
        _update(_key("u0", "S#001"), "SET qty = :missing", ONE),
        _delete({SK: _s("S#001")}),
        {"Put": {"TableName": "no-such-table", "Item": _item("u0", "x")}},
    ],
    ids=[
        "missing-key",
        "wrong-type",
        "bad-operand",
        "half-key",
        "unknown-value",
        "no-hash",
        "no-table",
    ],
)
def test_a_transaction_with_an_invalid_action_after_writes_answers_alike_and_writes_nothing(
    twins, bad
):
    _seed(twins, users=1, per_user=2)
    before = twins.items()
    twins.both(
        "transact_write_items",
        TransactItems=[
            _put(_item("u0", "T#new", qty=1)),
            _update(_key("u0", "S#000"), "SET qty = qty + :one", ONE),
            _delete(_key("u0", "S#002")),
            bad,
        ],
    )
    assert twins.items() == before


def test_more_than_a_hundred_actions_are_refused_alike(twins):
    answer = twins.both(
        "transact_write_items",
        TransactItems=[_put(_item("u0", f"T#{n:03d}")) for n in range(101)],
    )
    assert answer[0] == "error"
    assert twins.items() == []
    twins.both(
        "transact_write_items",
        TransactItems=[_put(_item("u0", f"T#{n:03d}")) for n in range(100)],
    )
    assert len(twins.items()) == 100


def test_a_patched_transaction_does_not_copy_the_table():
    """What the patch is for: moto deep-copies the table per action (a new Table each time)."""
    was_applied = moto_patches.applied()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name=PATCHED_REGION)
            wiring.create_table(client, TABLE)
            actions = [_put(_item("u0", f"T#{n}")) for n in range(4)]
            made = []
            for patched in (False, True):
                moto_patches.apply() if patched else moto_patches.unapply()
                tables_before = len(Table.instances_tracked)
                client.transact_write_items(TransactItems=actions)
                made.append(len(Table.instances_tracked) - tables_before)
            assert made == [4, 0]
    finally:
        moto_patches.apply() if was_applied else moto_patches.unapply()


# -- queries ----------------------------------------------------------------------------------------
def _used(params: dict[str, Any]) -> dict[str, Any]:
    """The query with only the attribute names its expressions use (DynamoDB refuses the others)."""
    said = " ".join(
        params.get(field, "")
        for field in ("KeyConditionExpression", "FilterExpression", "ProjectionExpression")
    )
    names = {k: v for k, v in params.get("ExpressionAttributeNames", {}).items() if k in said}
    trimmed = {k: v for k, v in params.items() if k != "ExpressionAttributeNames"}
    return trimmed | ({"ExpressionAttributeNames": names} if names else {})


def _index_queries(index: dict[str, str], partition: str) -> list[dict[str, Any]]:
    names = {"#p": index["partition_key"], "#s": index["sort_key"]}
    base = {"TableName": TABLE, "IndexName": index["name"], "ExpressionAttributeNames": names}
    p = {":p": _s(partition)}
    queries = [
        {**base, "KeyConditionExpression": "#p = :p", "ExpressionAttributeValues": p},
        {
            **base,
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :b)",
            "ExpressionAttributeValues": {**p, ":b": _s("alloc-1")},
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :a AND :b",
            "ExpressionAttributeValues": {**p, ":a": _s("09:02"), ":b": _s("alloc-1-005")},
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s < :a",
            "ExpressionAttributeValues": {**p, ":a": _s("alloc-2")},
            "ScanIndexForward": False,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s > :a",
            "ExpressionAttributeValues": {**p, ":a": _s("09:03")},
            "Limit": 2,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": {**p, ":q": {"N": "4"}},
            "FilterExpression": "qty >= :q",
            "Limit": 3,
            "ScanIndexForward": False,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": p,
            "ProjectionExpression": "qty, #s",
            "Limit": 4,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": p,
            "Select": "COUNT",
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": p,
            "ConsistentRead": True,
        },
        {
            **base,
            "KeyConditions": {
                index["partition_key"]: {
                    "ComparisonOperator": "EQ",
                    "AttributeValueList": [_s(partition)],
                }
            },
        },
    ]
    return [_used(query) for query in queries]


def _table_queries(user: str) -> list[dict[str, Any]]:
    base = {"TableName": TABLE, "ExpressionAttributeNames": {"#p": PK, "#s": SK}}
    p = {":p": _s(user)}
    queries = [
        {**base, "KeyConditionExpression": "#p = :p", "ExpressionAttributeValues": p},
        {
            **base,
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :b)",
            "ExpressionAttributeValues": {**p, ":b": _s("S#00")},
            "Limit": 3,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :a AND :b",
            "ExpressionAttributeValues": {**p, ":a": _s("S#002"), ":b": _s("S#009")},
            "ScanIndexForward": False,
            "Limit": 2,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s < :a",
            "ExpressionAttributeValues": {**p, ":a": _s("S#005")},
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p AND #s > :a",
            "ExpressionAttributeValues": {**p, ":a": _s("S#005")},
            "Select": "COUNT",
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": {**p, ":q": {"N": "6"}},
            "FilterExpression": "qty < :q",
            "Limit": 4,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": p,
            "ProjectionExpression": "#s, note",
            "ScanIndexForward": False,
        },
        {
            **base,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeValues": {":p": {"N": "1"}},
        },
    ]
    return [_used(query) for query in queries]


def _every_query(twins: Twins) -> None:
    for partition in ("strategy-0", "strategy-3", "strategy-9"):
        for params in _index_queries(FIRST, partition):
            twins.query_all(**params)
    for partition in ("day-0", "day-2"):
        for params in _index_queries(SECOND, partition):
            twins.query_all(**params)
    for user in ("u0", "u2", "nobody"):
        for params in _table_queries(user):
            twins.query_all(**params)


def test_index_and_table_queries_answer_alike_page_by_page(twins):
    _seed(twins)
    _every_query(twins)


def test_queries_answer_alike_after_items_move_between_partitions_and_are_deleted(twins):
    _seed(twins)
    _every_query(twins)
    names = {"#p": FIRST["partition_key"], "#d": SECOND["partition_key"]}
    for n in range(0, 12, 2):  # half of u1's items move to another strategy and another day
        twins.both(
            "update_item",
            TableName=TABLE,
            Key=_key("u1", f"S#{n:03d}"),
            UpdateExpression="SET #p = :p, #d = :d",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":p": _s("strategy-3"), ":d": _s("day-2")},
        )
    for n in range(1, 12, 3):
        twins.both("delete_item", TableName=TABLE, Key=_key("u2", f"S#{n:03d}"))
    twins.both(  # an item leaves an index by losing its key attribute
        "update_item",
        TableName=TABLE,
        Key=_key("u0", "S#000"),
        UpdateExpression="REMOVE #p",
        ExpressionAttributeNames={"#p": FIRST["partition_key"]},
    )
    twins.both(  # and another one comes back to its old partition by a put
        "put_item",
        TableName=TABLE,
        Item=_item("u1", "S#002", **_index_fields(FIRST, "strategy-2", "back")),
    )
    _every_query(twins)


def test_a_patched_index_query_does_not_read_every_item(twins, monkeypatch):
    _seed(twins)
    read_all = []
    original = moto_patches._originals[(Table, "all_items")]
    monkeypatch.setitem(
        moto_patches._originals,
        (Table, "all_items"),
        lambda table: read_all.append(table) or original(table),
    )
    moto_patches.apply()
    answered = 0
    for params in _index_queries(FIRST, "strategy-1") + _table_queries("u1"):
        answered += not isinstance(_outcome(twins.patched, "query", params), tuple)
    assert answered >= 12
    assert read_all == []


def test_queries_of_keys_only_include_and_hash_only_indexes_answer_alike(twins):
    for n in range(30):
        twins.both(
            "put_item",
            TableName=PROJECTED,
            Item={
                "pk": _s(f"p{n % 5}"),
                "sk": _s(f"s{n:02d}"),
                "gk": _s(f"g{n % 3}"),
                "gs": _s(f"x{n % 4}"),
                "gn": {"N": str(n % 7)},
                "note": _s(f"n{n}"),
                "other": _s("not projected"),
            },
        )
    for index in ("KeysOnly", "Included"):
        for partition in ("g0", "g1", "g9"):
            twins.query_all(
                TableName=PROJECTED,
                IndexName=index,
                KeyConditionExpression="gk = :g",
                ExpressionAttributeValues={":g": _s(partition)},
                Limit=4,
            )
    twins.query_all(
        TableName=PROJECTED,
        IndexName="Included",
        KeyConditionExpression="gk = :g AND gn BETWEEN :a AND :b",
        ExpressionAttributeValues={":g": _s("g1"), ":a": {"N": "2"}, ":b": {"N": "5"}},
        ScanIndexForward=False,
        Limit=3,
    )
    twins.query_all(
        TableName=PROJECTED,
        IndexName="HashOnly",
        KeyConditionExpression="gs = :g",
        ExpressionAttributeValues={":g": _s("x2")},
        Limit=3,
    )


# -- a random sequence ------------------------------------------------------------------------------
def _random_action(rng: random.Random) -> dict[str, Any]:
    user, sort = f"u{rng.randrange(3)}", f"S#{rng.randrange(15):03d}"
    roll = rng.random()
    fields = {}
    if rng.random() < 0.8:
        fields.update(_index_fields(FIRST, f"strategy-{rng.randrange(4)}", f"a{rng.randrange(9)}"))
    if rng.random() < 0.6:
        fields.update(_index_fields(SECOND, f"day-{rng.randrange(3)}", f"t{rng.randrange(9)}"))
    condition: dict[str, Any] = {}
    if rng.random() < 0.3:
        condition = {
            "ConditionExpression": "attribute_not_exists(qty) OR qty < :limit",
            "ExpressionAttributeValues": {":limit": {"N": str(rng.randrange(10))}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    if roll < 0.35:
        return _put(_item(user, sort, qty=rng.randrange(10), **fields), **condition)
    if roll < 0.7:
        names = {"#p": FIRST["partition_key"]}
        values = {":q": {"N": str(rng.randrange(3))}, ":p": _s(f"strategy-{rng.randrange(4)}")}
        values.update(condition.pop("ExpressionAttributeValues", {}))
        return _update(
            _key(user, sort),
            "SET qty = if_not_exists(qty, :q) + :q, #p = :p",
            values,
            ExpressionAttributeNames=names,
            **condition,
        )
    if roll < 0.9:
        return _delete(_key(user, sort), **condition)
    check = {
        "TableName": TABLE,
        "Key": _key(user, sort),
        "ConditionExpression": "attribute_exists(qty)",
    }
    return {"ConditionCheck": check | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def _single(action: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind, params = next(iter(action.items()))
    operation = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}[kind]
    return operation, params


def test_a_random_sequence_of_writes_transactions_and_queries_answers_alike(twins):
    rng = random.Random(12)
    for step in range(300):
        roll = rng.random()
        if roll < 0.45:
            action = _random_action(rng)
            while "ConditionCheck" in action:
                action = _random_action(rng)
            operation, params = _single(action)
            twins.both(operation, **params)
        elif roll < 0.75:
            twins.both(
                "transact_write_items",
                TransactItems=[_random_action(rng) for _ in range(rng.randrange(1, 6))],
            )
        else:
            index = rng.choice([FIRST, SECOND])
            queries = _index_queries(
                index, rng.choice(["strategy-1", "strategy-2", "day-0", "day-1"])
            )
            twins.query_all(**rng.choice(queries[:-1]))
            twins.query_all(**rng.choice(_table_queries(f"u{rng.randrange(3)}")))
        if step % 10 == 0:
            twins.items()
    twins.items()
    _every_query(twins)
    # The partition maps kept up to date write by write are the ones built from the items now:
    # every member, and no key of an item deleted or moved.
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][PATCHED_REGION].tables[TABLE]
    partitions = moto_patches._PARTITIONS.get(table, {})
    assert len(partitions) == 2, "an index query did not go through the maps"
    kept = {name: dict(members) for name, members in partitions.items()}
    moto_patches.forget_partitions()
    for index, attribute in kept:
        assert kept[(index, attribute)] == moto_patches._partition_map(table, index, attribute)


# -- the snapshot -----------------------------------------------------------------------------------
def _state(region: str) -> dict[str, Any]:
    return {"dynamodb": dynamodb_backends[DEFAULT_ACCOUNT_ID][region]}


def _contents(backend: Any) -> dict[str, list[Any]]:
    return {
        name: sorted((item.to_json() for item in moto_patches._stored_items(table)), key=repr)
        for name, table in backend.tables.items()
    }


def test_a_snapshot_loads_back_as_the_state_it_froze(twins):
    _seed(twins)
    moto_patches.apply()
    state = _state(PATCHED_REGION)
    payload = moto_patches.freeze(state).pickled()
    loaded = moto_patches.load_state(payload)
    assert _contents(loaded["dynamodb"]) == _contents(state["dynamodb"])
    table = loaded["dynamodb"].tables[TABLE]
    assert type(table.items) is type(state["dynamodb"].tables[TABLE].items)
    assert table.items.default_factory is dict  # moto writes through table.items[hash][range]


def test_a_snapshot_in_the_format_before_loads(twins):
    _seed(twins, users=1, per_user=3)
    state = _state(PATCHED_REGION)
    loaded = moto_patches.load_state(pickle.dumps(state))
    assert _contents(loaded["dynamodb"]) == _contents(state["dynamodb"])


def test_an_unpatched_moto_is_snapshotted_whole_in_the_format_before(twins):
    _seed(twins, users=1, per_user=3)
    moto_patches.unapply()
    payload = moto_patches.freeze(_state(UNPATCHED_REGION)).pickled()
    assert payload.startswith(b"\x80")
    moto_patches.apply()


def test_writes_after_the_freeze_do_not_reach_the_snapshot(twins):
    _seed(twins, users=2, per_user=4)
    moto_patches.apply()
    state = _state(PATCHED_REGION)
    frozen_then = _contents(state["dynamodb"])
    frozen = moto_patches.freeze(state)
    client = twins.patched
    client.put_item(TableName=TABLE, Item=_item("u0", "S#000", qty=99))
    client.put_item(TableName=TABLE, Item=_item("u9", "new", qty=1))
    client.update_item(
        TableName=TABLE,
        Key=_key("u1", "S#001"),
        UpdateExpression="SET qty = :q, note = :n",
        ExpressionAttributeValues={":q": {"N": "77"}, ":n": _s("changed")},
    )
    client.delete_item(TableName=TABLE, Key=_key("u1", "S#002"))
    client.transact_write_items(
        TransactItems=[
            _update(_key("u0", "S#003"), "SET qty = qty + :one", ONE),
            _delete(_key("u0", "S#001")),
        ]
    )
    assert _contents(state["dynamodb"]) != frozen_then
    loaded = moto_patches.load_state(frozen.pickled())
    assert _contents(loaded["dynamodb"]) == frozen_then


def test_apply_is_idempotent_and_unapply_restores_moto():
    was_applied = moto_patches.applied()
    try:
        moto_patches.apply()
        moto_patches.apply()
        assert moto_patches.applied()
        assert Table.query is moto_patches.query
        moto_patches.unapply()
        assert not moto_patches.applied()
        assert Table.query is moto_patches._originals[(Table, "query")]
    finally:
        moto_patches.apply() if was_applied else moto_patches.unapply()
