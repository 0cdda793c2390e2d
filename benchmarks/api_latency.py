"""How fast the local platform answers its API over HTTP: a strategy GET and a strategy POST, on one
thread and on ten at once (median, p95, requests per second).

    .venv/bin/python -m benchmarks.api_latency [--root PATH]

Starts `python -m local_platform` from --root (default: this checkout; give another checkout to
measure a version before a change), signs a trader up, and talks to it only over HTTP, one
keep-alive connection per thread, as a browser would.
"""

from __future__ import annotations

import argparse
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

import boto3
import requests

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
    request: Callable[[requests.Session, int], requests.Response], threads: int, count: int
) -> dict[str, float]:
    local = threading.local()
    numbers = itertools.count()

    def one(_n: int) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        answer = request(local.session, next(numbers))
        took = time.perf_counter() - started
        if answer.status_code >= 300:
            raise RuntimeError(f"{answer.status_code}: {answer.text}")
        return took

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
            sid = requests.post(
                f"{platform.api}/options/baskets/{baskets[-1]}/strategies",
                json=STRATEGY,
                headers=headers,
                timeout=300,
            ).json()["strategy_id"]
            offset = itertools.count()

            def get(session: requests.Session, _n: int) -> requests.Response:
                return session.get(
                    f"{platform.api}/options/strategies/{sid}", headers=headers, timeout=300
                )

            def post(session: requests.Session, _n: int) -> requests.Response:
                basket = baskets[next(offset) // STRATEGIES_PER_BASKET]
                return session.post(
                    f"{platform.api}/options/baskets/{basket}/strategies",
                    json=STRATEGY,
                    headers=headers,
                    timeout=300,
                )

            for _warm in range(5):
                get(requests.Session(), 0)
            for label, request in (("GET  strategy", get), ("POST strategy", post)):
                for threads, count in ((1, ONE_THREAD), (10, TEN_THREADS)):
                    result = measure(request, threads, count)
                    print(
                        f"{label}, {threads:2d} thread(s), {count} requests: "
                        f"median {result['median'] * 1000:6.1f} ms, "
                        f"p95 {result['p95'] * 1000:6.1f} ms, "
                        f"{result['per_second']:5.1f} requests/s",
                        flush=True,
                    )
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
