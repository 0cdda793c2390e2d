"""How fast the local platform answers its API over HTTP: a strategy GET and a strategy POST, on one
thread and on ten at once (median, p95, requests per second), beside a raw DynamoDB GetItem of the
same strategy's item from the same emulator, so that the GET reads as a multiple of one request.

    .venv/bin/python -m benchmarks.api_latency [--root PATH]

Starts `python -m local_platform` from --root (default: this checkout; give another checkout to
measure a version before a change), signs a trader up, sets up the spec's journey (its iron condor
with four legs and two accounts' allocations), and talks to it only over HTTP, one keep-alive
connection per thread, as a browser would; the GetItem goes to the emulator's endpoint with one
client per thread.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import requests

from shared_utils.adapters.dynamodb import keys

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Tr4der!pass"  # noqa: S105 - a local test trader's, in moto
BASKET = {
    "basket_name": "Benchmark",
    "description": "latency",
    "initial_capital": 500000,
    "deployable_percentage": 80,
}
STRATEGY = {
    "strategy_name": "Weekly Iron Condor NIFTY",
    "description": "Weekly NIFTY Iron Condor for income",
    "entry_time": "09:30",
    "exit_time": "15:20",
    "entry_days": ["MONDAY"],
    "exit_days": ["FRIDAY"],
    "product": "NRML",
    "underlying": "NIFTY",
    "is_intra_day": False,
}
JOURNEY = json.loads((ROOT / "local_platform" / "data" / "journey.json").read_text())
STRATEGIES_PER_BASKET = 10  # the most a basket holds
ONE_THREAD, TEN_THREADS = 40, 100


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Platform:
    def __init__(self, root: Path, data_dir: Path):
        self.root, self.data_dir, self.port = root, data_dir, _port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # A Saturday: the engine is idle, the API alone is measured.
        arguments = ["--port", str(self.port), "--data-dir", str(data_dir)]
        arguments += ["--clock-start", "2026-03-07T10:00:00+05:30"]
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
            [sys.executable, "-m", "local_platform", *arguments],
            cwd=root,
            env={**environment, "PYTHONPATH": str(root)},
            stdout=(data_dir / "platform.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        outputs = data_dir / "outputs.json"
        deadline = time.monotonic() + 300
        while not outputs.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError((data_dir / "platform.log").read_text())
            time.sleep(0.2)
        self.outputs = next(iter(json.loads(outputs.read_text()).values()))
        self.api = f"http://127.0.0.1:{self.port}"

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - the local moto accepts any
        )

    def token(self) -> str:
        idp = boto3.client(
            "cognito-idp",
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - the local moto accepts any
        )
        client_id = self.outputs["UserPoolClientId"]
        idp.sign_up(
            ClientId=client_id,
            Username="bench",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "bench@example.com"}],
        )
        idp.confirm_sign_up(ClientId=client_id, Username="bench", ConfirmationCode="000000")
        answer = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "bench", "PASSWORD": PASSWORD},
        )
        token: str = answer["AuthenticationResult"]["IdToken"]
        return token

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def measure(
    request: Callable[[Any, int], None],
    threads: int,
    count: int,
    connection: Callable[[], Any] = requests.Session,
) -> dict[str, float]:
    """Time `count` calls of `request`, `threads` at a time, each thread with its own connection."""
    local = threading.local()
    numbers = itertools.count()

    def one(_n: int) -> float:
        if not hasattr(local, "connection"):
            local.connection = connection()
        started = time.perf_counter()
        request(local.connection, next(numbers))
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        took = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    return {
        "median": statistics.median(took),
        "p95": statistics.quantiles(took, n=20)[-1],
        "per_second": count / elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        platform = Platform(args.root.resolve(), Path(directory))
        try:
            headers = {"Authorization": f"Bearer {platform.token()}"}
            posts = ONE_THREAD + TEN_THREADS
            baskets = [
                requests.post(
                    platform.api + "/options/baskets",
                    json={**BASKET, "basket_name": f"Benchmark {n}"},
                    headers=headers,
                    timeout=300,
                ).json()["basket_id"]
                for n in range(posts // STRATEGIES_PER_BASKET + 2)
            ]
            sid = _journey(platform.api, headers, baskets[-1])
            offset = itertools.count()

            def get(session: requests.Session, _n: int) -> None:
                _ok(
                    session.get(
                        f"{platform.api}/options/strategies/{sid}", headers=headers, timeout=300
                    )
                )

            def post(session: requests.Session, _n: int) -> None:
                basket = baskets[next(offset) // STRATEGIES_PER_BASKET]
                _ok(
                    session.post(
                        f"{platform.api}/options/baskets/{basket}/strategies",
                        json=STRATEGY,
                        headers=headers,
                        timeout=300,
                    )
                )

            trader = {"S": _subject(headers)}

            def raw(sort_key: str) -> Callable[[Any, int], None]:
                key = {"user_id": trader, "sort_key": {"S": sort_key}}

                def get_item(client: Any, _n: int) -> None:
                    if "Item" not in client.get_item(
                        TableName=platform.outputs["TableName"], Key=key, ConsistentRead=True
                    ):
                        raise RuntimeError(f"no item at {key}")

                return get_item

            for _warm in range(5):
                get(requests.Session(), 0)
            measured: dict[tuple[str, int], float] = {}
            # The strategy's item is what its GET reads; a basket's, a small item, for scale.
            runs = (
                ("GetItem strategy", raw(keys.strategy(sid)), platform.dynamodb),
                ("GetItem basket  ", raw(keys.basket(baskets[-1])), platform.dynamodb),
                ("GET  strategy   ", get, requests.Session),
                ("POST strategy   ", post, requests.Session),
            )
            for label, request, connection in runs:
                for threads, count in ((1, ONE_THREAD), (10, TEN_THREADS)):
                    result = measure(request, threads, count, connection)
                    measured[(label, threads)] = result["median"]
                    ratio = result["median"] / measured[("GetItem strategy", threads)]
                    print(
                        f"{label}, {threads:2d} thread(s), {count} requests: "
                        f"median {result['median'] * 1000:6.1f} ms, "
                        f"p95 {result['p95'] * 1000:6.1f} ms, "
                        f"{result['per_second']:5.1f} requests/s, "
                        f"{ratio:4.1f}x the strategy item's GetItem",
                        flush=True,
                    )
        finally:
            platform.stop()


def _ok(answer: requests.Response) -> None:
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.status_code}: {answer.text}")


def _journey(api: str, headers: dict[str, str], basket: str) -> str:
    """The spec's iron condor in `basket`, with its legs and both accounts' allocations: its id."""
    for account in JOURNEY["broker_accounts"]:
        _ok(
            requests.post(
                f"{api}/options/broker-accounts", json=account, headers=headers, timeout=300
            )
        )
    answer = requests.post(
        f"{api}/options/baskets/{basket}/strategies",
        json=JOURNEY["strategy"],
        headers=headers,
        timeout=300,
    )
    _ok(answer)
    sid: str = answer.json()["strategy_id"]
    for path, body in (("legs", JOURNEY["legs"]), ("allocations/advanced", JOURNEY["allocations"])):
        _ok(
            requests.post(
                f"{api}/options/strategies/{sid}/{path}", json=body, headers=headers, timeout=300
            )
        )
    return sid


def _subject(headers: dict[str, str]) -> str:
    """The trader's id: the `sub` claim of the ID token (the emulator signed it; it is not checked here)."""
    payload = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    subject: str = claims["sub"]
    return subject


if __name__ == "__main__":
    main()
