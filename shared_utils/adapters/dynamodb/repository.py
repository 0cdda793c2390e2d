"""Single-table data access: typed reads, and writes that belong together committed atomically.

Every read and write is scoped by the caller's user_id (the partition key). Conditional writes turn
races into errors the caller chose in advance (a stale version is a Conflict, never a lost update).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared_utils.adapters.dynamodb import keys
from shared_utils.domain.errors import Conflict, DomainError, InvalidInput

MAX_TRANSACTION_ACTIONS = 100
MAX_BATCH_GET_KEYS = 100
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()
# One pool for every sharded index read in this process: a pool per read started up to 16 threads
# each time, and a trigger's look-back after a long stop reads thousands of slots. Its threads
# start on first use; the queries they run never read through the pool again, so none waits on it.
_INDEX_READS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="index-read")


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass
class Write:
    """One action of a transaction, with the error to raise if its condition does not hold."""

    kind: str  # Put | Delete | ConditionCheck | Update
    key: dict[str, str]
    item: dict[str, Any] | None = None
    condition: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    update: str | None = None
    on_condition_failure: DomainError | None = None


def put_new(item: dict[str, Any], on_exists: DomainError) -> Write:
    return Write(
        "Put",
        _key_of(item),
        item=item,
        condition="attribute_not_exists(sort_key)",
        on_condition_failure=on_exists,
    )


def put_versioned(item: dict[str, Any], expected_version: int, on_stale: DomainError) -> Write:
    """Replace an item only if nobody changed it since `expected_version` was read."""
    return Write(
        "Put",
        _key_of(item),
        item=item,
        condition="#version = :expected_version",
        names={"#version": "version"},
        values={":expected_version": expected_version},
        on_condition_failure=on_stale,
    )


def delete_versioned(
    user_id: str, sort_key: str, expected_version: int, on_stale: DomainError
) -> Write:
    return Write(
        "Delete",
        {keys.PK: user_id, keys.SK: sort_key},
        condition="#version = :expected_version",
        names={"#version": "version"},
        values={":expected_version": expected_version},
        on_condition_failure=on_stale,
    )


def put(item: dict[str, Any]) -> Write:
    return Write("Put", _key_of(item), item=item)


def delete(user_id: str, sort_key: str, must_exist: DomainError | None = None) -> Write:
    return Write(
        "Delete",
        {keys.PK: user_id, keys.SK: sort_key},
        condition="attribute_exists(sort_key)" if must_exist else None,
        on_condition_failure=must_exist,
    )


def check(
    user_id: str,
    sort_key: str,
    condition: str,
    on_failure: DomainError,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Write:
    return Write(
        "ConditionCheck",
        {keys.PK: user_id, keys.SK: sort_key},
        condition=condition,
        names=names or {},
        values=values or {},
        on_condition_failure=on_failure,
    )


def update(
    user_id: str,
    sort_key: str,
    expression: str,
    condition: str | None,
    on_failure: DomainError | None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Write:
    """An update, conditional unless `condition` is None (the metrics' ADDs hold no condition)."""
    return Write(
        "Update",
        {keys.PK: user_id, keys.SK: sort_key},
        update=expression,
        condition=condition,
        names=names or {},
        values=values or {},
        on_condition_failure=on_failure,
    )


def _key_of(item: dict[str, Any]) -> dict[str, str]:
    return {keys.PK: item[keys.PK], keys.SK: item[keys.SK]}


class ConfigurationRepository:
    def __init__(self, client: Any, table_name: str):
        self._client = client
        self.table_name = table_name

    # -- reads ---------------------------------------------------------------------------------
    def get(self, user_id: str, sort_key: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name,
            Key=serialize({keys.PK: user_id, keys.SK: sort_key}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def get_many(self, user_id: str, sort_keys: Iterable[str]) -> list[dict[str, Any]]:
        """The user's items at these sort keys that exist, in sort key order (as a query returns
        them): one BatchGetItem per 100 keys, consistent, again for what DynamoDB left unprocessed."""
        wanted = sorted(set(sort_keys))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), MAX_BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        serialize({keys.PK: user_id, keys.SK: sort_key})
                        for sort_key in wanted[start : start + MAX_BATCH_GET_KEYS]
                    ],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found += map(deserialize, response.get("Responses", {}).get(self.table_name, []))
                request = response.get("UnprocessedKeys") or {}
        return sorted(found, key=lambda item: str(item[keys.SK]))

    def query_prefix(
        self,
        user_id: str,
        prefix: str,
        *,
        limit: int | None = None,
        next_token: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a user's items whose sort key starts with `prefix`. With `limit` None, all of them.

        `filters` are attribute equalities applied by DynamoDB after the key condition; a page may
        then hold fewer than `limit` items and still have a next_token, as DynamoDB pages do.
        """
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": keys.PK, "#sk": keys.SK},
            "ExpressionAttributeValues": serialize({":pk": user_id, ":prefix": prefix}),
            "ConsistentRead": True,
        }
        if filters:
            clauses = []
            for index, (name, value) in enumerate(sorted(filters.items())):
                request["ExpressionAttributeNames"][f"#f{index}"] = name
                if value is None:
                    clauses.append(f"attribute_not_exists(#f{index})")
                else:
                    request["ExpressionAttributeValues"].update(serialize({f":f{index}": value}))
                    clauses.append(f"#f{index} = :f{index}")
            request["FilterExpression"] = " AND ".join(clauses)
        start_key = _decode_token(next_token, user_id, prefix) if next_token else None
        items: list[dict[str, Any]] = []
        while True:
            if start_key:
                request["ExclusiveStartKey"] = start_key
            if limit is not None:
                request["Limit"] = limit - len(items)
            response = self._client.query(**request)
            items.extend(deserialize(item) for item in response.get("Items", []))
            start_key = response.get("LastEvaluatedKey")
            if not start_key or (limit is not None and len(items) >= limit):
                break
        return items, (_encode_token(start_key) if start_key else None)

    def query_schedule_slot(
        self, execution_type: str, weekday: str, hhmm: str, shard: int
    ) -> list[dict[str, Any]]:
        """Every schedule item in one shard of one slot, across all users (GSI2)."""
        return self.query_index(
            keys.GSI2, keys.GSI2_PK, keys.schedule_slot(execution_type, weekday, hhmm, shard)
        )

    def query_index_partitions(
        self, partitions: Iterable[tuple[str, str, str]]
    ) -> list[dict[str, Any]]:
        """Every item of several global-index partitions (the shards of a slot, say), each given
        as (index, partition attribute, partition): read at once, their items in the given order."""
        found = _INDEX_READS.map(lambda read: self.query_index(*read), list(partitions))
        return [item for items in found for item in items]

    def query_index(
        self, index: str, partition_attribute: str, partition: str
    ) -> list[dict[str, Any]]:
        """Every item of one partition of a global index, across all users."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :partition",
            "ExpressionAttributeNames": {"#pk": partition_attribute},
            "ExpressionAttributeValues": serialize({":partition": partition}),
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**request)
            items.extend(deserialize(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- writes --------------------------------------------------------------------------------
    def commit(self, writes: Iterable[Write]) -> None:
        """All or nothing. A failed condition raises the error its write named."""
        writes = list(writes)
        if not writes:
            return None
        if len(writes) > MAX_TRANSACTION_ACTIONS:
            raise InvalidInput(
                f"this change touches {len(writes)} items; at most {MAX_TRANSACTION_ACTIONS} change together"
            )
        if len(writes) == 1 and writes[0].kind in SINGLE_ITEM_CALLS:
            return self._write_one(writes[0])
        try:
            self._client.transact_write_items(
                TransactItems=[_action(self.table_name, write) for write in writes]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            for write, reason in zip(writes, reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed" and write.on_condition_failure:
                    raise write.on_condition_failure from error
            if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                raise Conflict(
                    "another change to the same items was in progress; read again and retry"
                ) from error
            raise

    def _write_one(self, write: Write) -> None:
        """One item needs no transaction: a conditional write is atomic on its own, and costs half
        the capacity of a transactional one."""
        call = getattr(self._client, SINGLE_ITEM_CALLS[write.kind])
        try:
            call(**_action(self.table_name, write)[write.kind])
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException" and write.on_condition_failure:
                raise write.on_condition_failure from error
            if code == "TransactionConflictException":
                raise Conflict(
                    "another change to the same item was in progress; read again and retry"
                ) from error
            raise


SINGLE_ITEM_CALLS = {"Put": "put_item", "Delete": "delete_item", "Update": "update_item"}


def _action(table_name: str, write: Write) -> dict[str, Any]:
    body: dict[str, Any] = {"TableName": table_name}
    if write.kind == "Put":
        if write.item is None:
            raise ValueError("a Put needs the item it puts")
        body["Item"] = serialize(write.item)
    else:
        body["Key"] = serialize(write.key)
    if write.update:
        body["UpdateExpression"] = write.update
    if write.condition:
        body["ConditionExpression"] = write.condition
    if write.names:
        body["ExpressionAttributeNames"] = write.names
    if write.values:
        body["ExpressionAttributeValues"] = serialize(write.values)
    return {write.kind: body}


def _encode_token(start_key: dict[str, Any]) -> str:
    plain = deserialize(start_key)
    return base64.urlsafe_b64encode(
        json.dumps(plain, default=str, sort_keys=True).encode()
    ).decode()


def _decode_token(token: str, user_id: str, prefix: str) -> dict[str, Any]:
    """A token is only good for the listing that issued it: another user's key or another prefix is refused."""
    plain: Any = None
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode()))
        valid = (
            isinstance(plain, dict)
            and plain.get(keys.PK) == user_id
            and str(plain.get(keys.SK, "")).startswith(prefix)
            and set(plain) == {keys.PK, keys.SK}
        )
    except (ValueError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidInput.at("next_token", "is not a token this listing issued")
    return serialize(plain)
