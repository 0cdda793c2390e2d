"""Each handler loads only what it uses: a cold start pays for every module a function imports.

A configuration-plane function (baskets, strategies and legs, allocations, broker accounts) never
loads the options maths, the market model, the engine, the brokers or the engine's stores, neither
at import nor while it serves a trader's whole configuration. Every other function, imported and
with the collaborators it takes from the composition root built (what its first invocation does
before it reaches AWS), has loaded none of the parts it does not run. Every check is a fresh
interpreter (the test process has imported everything already), run side by side with the others
to keep the suite quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import TABLE_NAME

ROOT = Path(__file__).resolve().parents[2]

CONFIGURATION_PLANE = (
    "basket_manager",
    "strategy_manager",
    "strategy_broker_allocator",
    "broker_account_manager",
)

# What the configuration plane has no use for: a module is one of these or inside one.
NOT_FOR_CONFIGURATION = (
    "shared_utils.market",  # strike selection, margin, expiries, the simulated market, the calendar
    "shared_utils.engine",
    "shared_utils.adapters.brokers",  # the paper broker and its exchange
    "shared_utils.adapters.aws",  # the workflows' and the timer's payloads
    "shared_utils.adapters.dynamodb.engine_tables",
    "shared_utils.adapters.dynamodb.executions",
    "shared_utils.adapters.dynamodb.orders",
    "shared_utils.adapters.dynamodb.positions",
    "shared_utils.adapters.dynamodb.paper_books",
    "shared_utils.adapters.dynamodb.market_cache",
    "shared_utils.adapters.dynamodb.order_followup",
    "shared_utils.adapters.dynamodb.run_marks",
)
# Record types the configuration's store shares with the engine (a Found read, the metric counts a
# strategy carries): the store reads and writes them, so serving a request loads them.
SHARED_RECORDS = {
    "shared_utils.engine",
    "shared_utils.engine.records",
    "shared_utils.engine.performance",
}

# The options maths: choosing strikes, sizing margin, planning and placing orders.
OPTIONS_MATHS = (
    "shared_utils.market.strike_selection",
    "shared_utils.market.margin",
    "shared_utils.engine.order_planning",
    "shared_utils.engine.entries",
    "shared_utils.engine.executor",
)
PAPER_BROKER = ("shared_utils.adapters.brokers",)
SIMULATED_MARKET = ("shared_utils.market.data", "shared_utils.adapters.dynamodb.market_cache")

# What each of the other functions does not run, so must not load, built or not.
NOT_WHEN_BUILT = {
    "market_reference_api": (
        "shared_utils.engine",
        "shared_utils.adapters.dynamodb",
        *PAPER_BROKER,
        *OPTIONS_MATHS,
        *SIMULATED_MARKET,
    ),
    "api_docs": (*OPTIONS_MATHS, *PAPER_BROKER, *SIMULATED_MARKET, "shared_utils.engine.queries"),
    "timer_starter": ("shared_utils.engine", "shared_utils.market", *PAPER_BROKER),
    "event_emitter": ("shared_utils.adapters.dynamodb", *OPTIONS_MATHS, *PAPER_BROKER),
    "schedule_strategy_trigger": (*OPTIONS_MATHS, *PAPER_BROKER, *SIMULATED_MARKET),
    "refresh_market_data": (*OPTIONS_MATHS, *PAPER_BROKER),
    "check_duplicate_orders": (*OPTIONS_MATHS, *PAPER_BROKER, *SIMULATED_MARKET),
}

IMPORT_ONLY = """
import json, sys
import lambda_functions.{function}
print(json.dumps(sorted(sys.modules)))
"""

# The handler imported, then every collaborator it takes from the composition root built.
BUILT = """
import inspect, json, sys
import lambda_functions.{function} as handler
for value in list(vars(handler).values()):
    if callable(value) and getattr(value, "__module__", None) == "lambda_functions.composition":
        if not inspect.signature(value).parameters:
            value()
print(json.dumps(sorted(sys.modules)))
"""

# A trader's whole configuration through the four functions, as the gateway calls them.
CONFIGURATION_JOURNEY = """
import json, os, sys
from pathlib import Path

import boto3
from moto import mock_aws

from local_platform.api_gateway import LocalApiGateway
from local_platform.wiring import create_table, load

journey = json.loads(Path("local_platform/data/journey.json").read_text())


class OneTrader:
    def claims(self, authorization):
        return {"sub": "sub-alice", "email": "alice@example.com"}


with mock_aws():
    create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
    gateway = LocalApiGateway(load(), OneTrader())

    def call(method, path, body=None):
        headers = {"Content-Type": "application/json", "Authorization": "Bearer alice"}
        reply = gateway.handle(method, path, headers, None if body is None else json.dumps(body))
        assert reply.status < 300, (method, path, reply.status, reply.body)
        return json.loads(reply.body) if reply.body else None

    for account in journey["broker_accounts"]:
        call("POST", "/options/broker-accounts", account)
    call("GET", "/options/broker-accounts")
    basket = call("POST", "/options/baskets", journey["basket"])
    baskets = "/options/baskets/" + basket["basket_id"]
    call("GET", "/options/baskets")
    call("PUT", baskets, {"description": "renamed", "version": basket["version"]})
    strategy = call("POST", baskets + "/strategies", journey["strategy"])
    strategies = "/options/strategies/" + strategy["strategy_id"]
    call("POST", "/options/strategies", {**journey["strategy"], "strategy_name": "standalone"})
    call("GET", "/options/strategies?basket_id=" + basket["basket_id"])
    call("POST", strategies + "/legs", journey["legs"])
    leg = call("GET", strategies + "/legs")["items"][0]
    call("PUT", strategies + "/legs/1", {"lots": leg["lots"] + 1, "version": leg["version"]})
    call("POST", strategies + "/allocations/advanced", journey["allocations"])
    allocation = call("GET", strategies + "/allocations")["items"][0]
    call("GET", strategies + "/allocations/summary")
    detail = call("GET", strategies)
    call("GET", baskets)
    call("PUT", strategies, {"status": "PAUSED", "version": detail["version"]})
    call("DELETE", strategies + "/allocations/" + allocation["client_id"])
    call("DELETE", strategies + "/legs/1")
    call("DELETE", strategies)
    print(json.dumps(sorted(sys.modules)))
"""


def _loaded(script: str) -> list[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TABLE_NAME": TABLE_NAME,
        "EVENT_BUS_NAME": "options-platform-events",
        "PLATFORM_CLOCK_START": "2026-03-02T09:25:00+05:30",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """The modules each fresh interpreter ended with, by what it ran."""
    scripts = {function: IMPORT_ONLY.format(function=function) for function in CONFIGURATION_PLANE}
    scripts |= {function: BUILT.format(function=function) for function in NOT_WHEN_BUILT}
    scripts["configuration journey"] = CONFIGURATION_JOURNEY
    scripts["strategy_executor"] = BUILT.format(function="strategy_executor")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(scripts, pool.map(_loaded, scripts.values()), strict=True))


def _inside(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


@pytest.mark.parametrize("function", CONFIGURATION_PLANE)
def test_a_configuration_function_imports_nothing_of_the_engine_or_the_market(loaded, function):
    assert _inside(loaded[function], NOT_FOR_CONFIGURATION) == []
    assert f"lambda_functions.{function}" in loaded[function]


def test_serving_a_whole_configuration_loads_nothing_of_the_engine_or_the_market(loaded):
    modules = loaded["configuration journey"]
    handlers = {m for m in modules if m.startswith("lambda_functions.")}
    # The journey went through the four functions and no other.
    assert {f"lambda_functions.{f}" for f in CONFIGURATION_PLANE} <= handlers
    served_by = {m.rsplit(".", 1)[1] for m in handlers} - {
        "api",
        "composition",
        "environment",
        "observability",
        "request_body",
    }
    assert served_by == set(CONFIGURATION_PLANE)
    assert set(_inside(modules, NOT_FOR_CONFIGURATION)) <= SHARED_RECORDS


@pytest.mark.parametrize("function", sorted(NOT_WHEN_BUILT))
def test_every_other_function_built_loads_only_what_it_runs(loaded, function):
    assert _inside(loaded[function], NOT_WHEN_BUILT[function]) == []
    assert f"lambda_functions.{function}" in loaded[function]


def test_the_check_sees_what_a_built_function_loads(loaded):
    # The executor plans orders on the market: built, it has loaded strike selection, the order
    # planning and the simulated market (the paper broker, and its margin, come with a first order).
    modules = set(loaded["strategy_executor"])
    assert {"shared_utils.market.strike_selection", "shared_utils.engine.order_planning"} <= modules
    assert set(SIMULATED_MARKET) <= modules
