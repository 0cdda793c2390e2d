"""What one request to the local DynamoDB costs as its table grows, with moto as it ships and with
the platform's patches (local_platform/moto_patches.py, and moto_answers.py's writing of the
answers' item values, on and off with them): the median of a 4-action transaction, a
query of one partition of a global secondary index, a query of one partition of the table and a
put, at 100, 1,000 and 10,000 items, and how long a snapshot holds the lock in front of moto.

    .venv/bin/python -m benchmarks.local_moto

Each request goes over HTTP to the local moto server (in this process, its journal off: the
journal costs the same either way, benchmarks/local_writes.py measures it). Unpatched moto is slow
at 10,000 items: each measurement stops after MAX_REPEATS or after BUDGET_SECONDS, whichever first.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from local_platform import moto_answers, moto_patches, wiring
from local_platform.aws import SERVICES, LocalAws

SIZES = (100, 1_000, 10_000)
MAX_REPEATS = 30
BUDGET_SECONDS = 8.0
STACK = "bench"
# Every user's partition and every strategy's index partition holds this many items at any size,
# so that each query returns as much at 100 items as at 10,000 (moto's cost of serializing an
# answer grows with the items in it, about 2 ms an item of this shape).
PER_PARTITION = 10
SPEC = wiring.load().table
PK, SK = SPEC["partition_key"], SPEC["sort_key"]
FIRST, SECOND = SPEC["indexes"]
OPERATIONS = ("transaction (4 actions)", "GSI query", "table query", "put", "snapshot lock hold")


def _forget() -> None:
    for service in SERVICES:
        get_backend(service).reset()


def _item(n: int, partitions: int) -> dict[str, Any]:
    """An item the size of the platform's (a leg, an allocation, an execution record)."""
    return {
        PK: {"S": f"user-{n % partitions:04d}"},
        SK: {"S": f"ITEM#{n:08d}"},
        FIRST["partition_key"]: {"S": f"strategy-{n % partitions:04d}"},
        FIRST["sort_key"]: {"S": f"allocation-{n:08d}"},
        SECOND["partition_key"]: {"S": f"day-{n % 5}"},
        SECOND["sort_key"]: {"S": f"09:{n % 60:02d}#{n:08d}"},
        "strategy_name": {"S": "Weekly Iron Condor NIFTY"},
        "lots": {"N": str(n % 7 + 1)},
        "price": {"N": "123.45"},
        "status": {"S": "ACTIVE"},
        "legs": {"L": [{"M": {"strike": {"N": "22000"}, "type": {"S": "CE"}}}] * 4},
        "version": {"N": "1"},
    }


def _timed(step: Callable[[int], None]) -> tuple[float, int]:
    """The median milliseconds of `step(repeat)`, and how many repeats fit the budget."""
    took: list[float] = []
    started = time.perf_counter()
    while len(took) < MAX_REPEATS and (
        len(took) < 3 or time.perf_counter() - started < BUDGET_SECONDS
    ):
        begin = time.perf_counter()
        step(len(took))
        took.append((time.perf_counter() - begin) * 1000)
    return statistics.median(took), len(took)


def measure(size: int, patched: bool) -> dict[str, tuple[float, int]]:
    _forget()
    with tempfile.TemporaryDirectory() as directory:
        aws = LocalAws(Path(directory), journaled=False)
        aws.start()  # applies the patches
        if not patched:  # moto as it ships
            moto_patches.unapply()
            moto_answers.unapply()
        table = aws.ensure_resources(STACK)["TableName"]
        partitions = size // PER_PARTITION
        backend = get_backend("dynamodb")[DEFAULT_ACCOUNT_ID][aws.region]
        for n in range(size):  # loaded in process: the requests below are what is measured
            backend.put_item(table, _item(n, partitions))
        client = aws.client("dynamodb")
        client.get_item(
            TableName=table, Key={PK: _item(0, partitions)[PK], SK: _item(0, partitions)[SK]}
        )  # warm

        def transaction(repeat: int) -> None:
            # A new item in, the one the repeat before put in out: the table keeps its size.
            fresh, old = size + 2 * repeat, (7 * repeat) % (size - 1)
            gone = fresh - 2 if repeat else 100 * size
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": _item(fresh, partitions)}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {PK: _item(old, partitions)[PK], SK: _item(old, partitions)[SK]},
                            "UpdateExpression": "SET lots = lots + :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {
                                PK: _item(old + 1, partitions)[PK],
                                SK: _item(old + 1, partitions)[SK],
                            },
                            "ConditionExpression": "attribute_exists(lots)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": {
                                PK: _item(gone, partitions)[PK],
                                SK: _item(gone, partitions)[SK],
                            },
                        }
                    },
                ]
            )

        def index_query(repeat: int) -> None:
            client.query(
                TableName=table,
                IndexName=FIRST["name"],
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": FIRST["partition_key"]},
                ExpressionAttributeValues={":p": {"S": f"strategy-{repeat % partitions:04d}"}},
            )

        def table_query(repeat: int) -> None:
            client.query(
                TableName=table,
                KeyConditionExpression="#p = :p AND begins_with(#s, :s)",
                ExpressionAttributeNames={"#p": PK, "#s": SK},
                ExpressionAttributeValues={
                    ":p": {"S": f"user-{repeat % partitions:04d}"},
                    ":s": {"S": "ITEM#"},
                },
            )

        def put(repeat: int) -> None:
            client.put_item(TableName=table, Item=_item(size + 2 * repeat + 1, partitions))

        holds: list[float] = []

        def snapshot(repeat: int) -> None:
            aws.compact()
            holds.append(aws.snapshot_hold_seconds * 1000)

        results = {}
        for name, step in zip(
            OPERATIONS, (transaction, index_query, table_query, put, snapshot), strict=True
        ):
            results[name] = _timed(step)
        results["snapshot lock hold"] = (statistics.median(holds), len(holds))
        if aws._server:
            aws._server.stop()
        moto_patches.apply()
        moto_answers.apply()
        _forget()
        return results


def main() -> None:
    print(
        f"moto {moto_patches.MOTO_VERSION}; median ms per request (repeats), unpatched vs patched"
    )
    header = f"{'items':>7}  {'operation':<24} {'unpatched':>16} {'patched':>14} {'ratio':>8}"
    print(header)
    for size in SIZES:
        unpatched, patched = measure(size, patched=False), measure(size, patched=True)
        for name in OPERATIONS:
            (slow, slow_n), (fast, fast_n) = unpatched[name], patched[name]
            print(
                f"{size:>7}  {name:<24} {slow:>10.2f} ({slow_n:>2}) {fast:>8.2f} ({fast_n:>2}) "
                f"{slow / fast:>7.1f}x"
            )


if __name__ == "__main__":
    main()
