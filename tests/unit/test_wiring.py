"""One source of truth: the wiring table, the handlers' routes and the key names agree."""

import importlib
from pathlib import Path

import pytest

from local_platform.wiring import load
from shared_utils.adapters.dynamodb import keys

ROOT = Path(__file__).resolve().parents[2]


def _app_of(function: str):
    module_name = load().functions[function]["handler"].rsplit(".", 1)[0]
    return importlib.import_module(module_name).app


@pytest.mark.parametrize(
    "function", sorted(f for f, spec in load().functions.items() if spec.get("routes"))
)
def test_each_function_serves_exactly_its_wired_routes(function):
    app = _app_of(function)
    registered = {
        f"{route.method} {route.openapi_path}" for route in app._static_routes + app._dynamic_routes
    }
    assert registered == set(load().functions[function]["routes"])


def test_no_route_is_wired_to_two_functions():
    routes = [
        route for function in load().functions.values() for route in function.get("routes", [])
    ]
    assert len(routes) == len(set(routes))


def test_every_route_resolves_to_its_function_and_literals_win():
    wiring = load()
    route, parameters = wiring.resolve("GET", "/options/strategies/s1/allocations/summary")
    assert route.function == "strategy_broker_allocator"
    assert parameters == {"strategy_id": "s1"}
    route, parameters = wiring.resolve("PUT", "/options/strategies/s1/allocations/ZERODHA123")
    assert parameters == {"strategy_id": "s1", "client_id": "ZERODHA123"}
    route, _ = wiring.resolve("POST", "/options/baskets/b1/strategies")
    assert route.function == "strategy_manager"
    assert wiring.resolve("GET", "/options/strategies/s1/legs/1") is None
    assert wiring.resolve("GET", "/options/baskets/b1/extra") is None


def test_the_table_description_matches_the_key_module():
    table = load().table
    assert (table["partition_key"], table["sort_key"]) == (keys.PK, keys.SK)
    indexes = {
        index["name"]: (index["partition_key"], index["sort_key"]) for index in table["indexes"]
    }
    assert indexes == {
        keys.GSI1: (keys.GSI1_PK, keys.GSI1_SK),
        keys.GSI2: (keys.GSI2_PK, keys.GSI2_SK),
    }


def test_stack_names_follow_the_spec():
    assert load().stack_name("dev") == "ql-algo-trading-dev-options-trading-stack"


def _module_file(function: str) -> Path:
    module = load().functions[function]["handler"].rsplit(".", 1)[0]
    return ROOT / (module.replace(".", "/") + ".py")


def test_every_wired_handler_exists():
    assert [name for name in load().functions if not _module_file(name).exists()] == []


@pytest.mark.parametrize("function", sorted(load().functions))
def test_every_existing_handler_imports_and_is_callable(function):
    assert callable(load().handler(function))


def test_every_event_rule_and_state_machine_names_a_wired_function():
    raw = load().raw
    names = set(raw["functions"])
    assert {rule["target"] for rule in raw["events"]["rules"]} <= names
    import json

    types = json.loads((ROOT / raw["events"]["types"]).read_text())["types"]
    assert {rule["event"] for rule in raw["events"]["rules"]} == set(types)
    assert {
        f for machine in raw["state_machines"].values() for f in machine["invokes"].values()
    } <= names
    assert {schedule["target"] for schedule in raw["schedules"].values()} <= names
    uses = {use for function in raw["functions"].values() for use in function.get("uses", [])}
    assert uses <= {"table", "event_bus", "master_timer", "execution_workflow"}


def test_a_wired_function_without_code_is_named_so_deploy_sh_refuses_it(monkeypatch):
    from cdk_stack import config

    raw = {
        **config.wiring(),
        "functions": {
            **config.wiring()["functions"],
            "forgotten": {"handler": "lambda_functions.forgotten.lambda_handler"},
        },
    }
    monkeypatch.setattr(config, "wiring", lambda: raw)
    assert config.missing_handlers() == ["forgotten"]
