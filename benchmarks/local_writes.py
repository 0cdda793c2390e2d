"""What the local platform's write-ahead journal costs: an acknowledged DynamoDB write (a boto3
PutItem to the local moto server, as the handlers send it) with the journal on and off, median and
p95 and their ratio; the time to replay 1,000 journaled writes on start; journal bytes per write.

    .venv/bin/python -m benchmarks.local_writes

Runs the moto server in this process, on a temporary data dir on this machine's disk (fsync is what
costs: it is real here, not a RAM disk).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from moto.backends import get_backend

from local_platform.aws import SERVICES, LocalAws
from local_platform.journal import Journal

WRITES = 400
REPLAYED = 1000
STACK = "bench"


def _forget() -> None:
    for service in SERVICES:
        get_backend(service).reset()


def _started(data_dir: Path, journaled: bool) -> tuple[LocalAws, str]:
    aws = LocalAws(data_dir, journaled=journaled)
    aws.start()
    return aws, aws.ensure_resources(STACK)["TableName"]


def _crash(aws: LocalAws) -> None:
    if aws._server:
        aws._server.stop()
    if aws.journal:
        aws.journal.close()
    _forget()


def _put(client: Any, table: str, n: int) -> None:
    client.put_item(
        TableName=table,
        Item={
            "user_id": {"S": "5f0c2f3e-bench-user"},
            "sort_key": {"S": f"STRATEGY#{n:08d}"},
            "strategy_name": {"S": "Weekly Iron Condor NIFTY"},
            "entry_time": {"S": "09:30"},
            "version": {"N": "1"},
        },
    )


def write_latencies(journaled: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        aws, table = _started(Path(directory), journaled)
        client = aws.client("dynamodb")
        for n in range(20):  # connections and caches warm
            _put(client, table, n)
        took = []
        for n in range(WRITES):
            started = time.perf_counter()
            _put(client, table, 1000 + n)
            took.append(time.perf_counter() - started)
        _crash(aws)
        return took


def replay() -> tuple[float, float]:
    """Seconds to replay 1,000 journaled writes, and journal bytes per write."""
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        aws, table = _started(data_dir, journaled=True)
        client = aws.client("dynamodb")
        for n in range(REPLAYED):
            _put(client, table, n)
        _crash(aws)
        size = sum(path.stat().st_size for _first, path in Journal(data_dir).segments())
        records = REPLAYED + 4  # the table, its TTL, the pool, the client
        again = LocalAws(data_dir)
        again.start()
        assert again.replayed == records, again.replayed
        _crash(again)
        return again.replay_seconds / again.replayed * 1000, size / records


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    off = write_latencies(journaled=False)
    on = write_latencies(journaled=True)
    for label, took in (("journal off", off), ("journal on ", on)):
        p95 = statistics.quantiles(took, n=20)[-1]
        print(
            f"{label}: {WRITES} acknowledged PutItem, median {_ms(statistics.median(took))}, "
            f"p95 {_ms(p95)}"
        )
    print(
        f"journal on / off: median x{statistics.median(on) / statistics.median(off):.2f}, "
        f"p95 x{statistics.quantiles(on, n=20)[-1] / statistics.quantiles(off, n=20)[-1]:.2f}, "
        f"+{_ms(statistics.median(on) - statistics.median(off))} per write"
    )
    per_thousand, per_write = replay()
    print(
        f"replay on start: {per_thousand:.2f} s per 1,000 journaled writes; "
        f"journal {per_write:.0f} bytes per write"
    )


if __name__ == "__main__":
    main()
