"""moto writes the same bytes for every DynamoDB answer with `local_platform.moto_answers` applied
as without it: items of every attribute type, nested maps and lists, binaries (left to moto's own
walk), pages, transactions' cancellation reasons, and Cognito's answers (not DynamoDB's shape)."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_platform import moto_answers

REGION = "ap-south-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
    moto_answers.unapply()


def _value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "BOOL", "NULL", "SS", "NS", "B", "BS"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "NIFTY 24500 CE", 'ü ∑ "quoted" \\ slash', "1e5"])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "24500", "1E+3", "0.05"])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": [f"s{n}" for n in range(rng.randint(1, 3))]}
    if kind == "NS":
        return {"NS": [str(n) for n in range(rng.randint(1, 3))]}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randint(1, 5)))}
    if kind == "BS":
        return {"BS": [bytes([n]) for n in range(rng.randint(1, 3))]}
    if kind == "M":
        return {"M": {f"k{n}": _value(rng, depth + 1) for n in range(rng.randint(0, 4))}}
    return {"L": [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}


class RawBodies:
    """The bytes of each answer as they came over the wire, before botocore parsed them."""

    def __init__(self, client: Any):
        self.bodies: list[bytes] = []
        client.meta.events.register("before-parse.*.*", self._keep)

    def _keep(self, response_dict: dict[str, Any], **_: Any) -> None:
        self.bodies.append(response_dict["body"])


def _answers(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    raw = RawBodies(client)
    for operation, params in calls:
        with contextlib.suppress(ClientError):  # the error's bytes are kept too, and compared
            getattr(client, operation)(**params)
    return [json.loads(body) if body else body for body in raw.bodies]


def _reads(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    query = {"TableName": "t", "KeyConditionExpression": "pk = :p"}
    return [
        ("get_item", {"TableName": "t", "Key": {"pk": {"S": "p0"}, "sk": {"S": "s0"}}}),
        ("query", {**query, "ExpressionAttributeValues": {":p": {"S": "p0"}}}),
        ("query", {**query, "ExpressionAttributeValues": {":p": {"S": "p1"}}, "Limit": 3}),
        ("scan", {"TableName": "t"}),
        (
            "batch_get_item",
            {
                "RequestItems": {
                    "t": {"Keys": [{"pk": {"S": "p1"}, "sk": {"S": f"s{n}"}} for n in range(4)]}
                }
            },
        ),
        (
            "update_item",
            {
                "TableName": "t",
                "Key": {"pk": {"S": "p0"}, "sk": {"S": "s1"}},
                "UpdateExpression": "SET extra = :v",
                "ExpressionAttributeValues": {":v": _value(rng)},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": {"pk": {"S": "p0"}, "sk": {"S": "s2"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    }
                ]
            },
        ),
        ("describe_table", {"TableName": "t"}),
    ]


def test_every_answer_is_the_same_bytes_with_and_without_the_patch(dynamodb):
    rng = random.Random(12)
    for n in range(40):
        item = {"pk": {"S": f"p{n % 2}"}, "sk": {"S": f"s{n // 2}"}}
        item |= {f"a{m}": _value(rng) for m in range(rng.randint(1, 8))}
        dynamodb.put_item(TableName="t", Item=item)
    _answers(dynamodb, _reads(random.Random(5)))  # its update written once: both passes read it
    unpatched = _answers(dynamodb, _reads(random.Random(5)))
    moto_answers.apply()
    patched = _answers(dynamodb, _reads(random.Random(5)))
    for before, after in zip(unpatched, patched, strict=True):
        if isinstance(before, dict):
            before.get("Table", {}).pop("CreationDateTime", None)
            after.get("Table", {}).pop("CreationDateTime", None)
        assert after == before
    assert any("Items" in answer for answer in patched)
    assert any("CancellationReasons" in answer for answer in patched if isinstance(answer, dict))


def test_an_answer_of_plain_values_skips_moto_s_walk_and_a_binary_one_does_not(
    dynamodb, monkeypatch
):
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": "plain"}, "n": {"N": "1"}})
    dynamodb.put_item(
        TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": "bytes"}, "b": {"B": b"\x00"}}
    )
    moto_answers.apply()
    walked: list[str] = []
    original = moto_answers._ORIGINAL["_serialize_type_structure"]

    def counting(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        walked.append(shape.name)
        original(self, serialized, value, shape, key)

    monkeypatch.setitem(moto_answers._ORIGINAL, "_serialize_type_structure", counting)
    plain = dynamodb.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "plain"}})
    assert plain["Item"]["n"] == {"N": "1"}
    assert "AttributeValue" not in walked
    binary = dynamodb.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "bytes"}})
    assert binary["Item"]["b"] == {"B": b"\x00"}
    assert "AttributeValue" in walked


def test_cognito_answers_are_left_to_moto():
    with mock_aws():
        moto_answers.apply()
        try:
            idp = boto3.client("cognito-idp", region_name=REGION)
            pool = idp.create_user_pool(PoolName="p")["UserPool"]["Id"]
            idp.admin_create_user(
                UserPoolId=pool,
                Username="u",
                UserAttributes=[{"Name": "email", "Value": "u@example.com"}],
                MessageAction="SUPPRESS",
            )
            user = idp.admin_get_user(UserPoolId=pool, Username="u")
            assert {"Name": "email", "Value": "u@example.com"} in user["UserAttributes"]
        finally:
            moto_answers.unapply()


def test_apply_twice_then_unapply_gives_moto_its_own_method_back():
    from moto.core.serialize import BaseJSONSerializer

    own = BaseJSONSerializer._serialize_type_structure
    moto_answers.apply()
    moto_answers.apply()
    assert BaseJSONSerializer._serialize_type_structure is not own
    moto_answers.unapply()
    assert BaseJSONSerializer._serialize_type_structure is own
