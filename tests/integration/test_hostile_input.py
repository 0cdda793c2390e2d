"""Hostile input against every route of the wiring table, in process through the handlers: bodies
that are not objects, every field of a valid body in the wrong JSON type (or null), nesting deeper
than the limit, repeated keys, text that is not JSON or not UTF-8, bad path and query values.

Each must be a 4xx (never a 5xx) in the API's error shape naming the field, and change nothing:
every table is scanned whole before and after each request.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from lambda_functions.api import MAX_ID_LENGTH
from lambda_functions.api_docs import openapi_document
from lambda_functions.request_body import MAX_BODY_BYTES, MAX_NESTING
from local_platform.api_gateway import LambdaContext, proxy_event
from local_platform.wiring import load
from tests.journey import BASKET, LEGS, STRATEGY

ROUTES = [(route.method, route.resource) for route in load().routes]
WITH_BODY = [(method, resource) for method, resource in ROUTES if method in ("POST", "PUT")]
INTEGER_FIELDS = {
    "lots",
    "leg_no",
    "priority",
    "expiry_offset",
    "max_daily_trades",
    "execution_delay_ms",
    "min_lots",
    "max_lots",
    "lot_increment",
    "version",
}
# Fields that may be null on purpose (null clears them, or says "none"); every other one may not,
# whether it is required or may be left out, in a POST or a PUT, at the top or nested.
NULL_CLEARS = {"creator_name", "stop_loss", "entry_max_slippage", "exit_max_slippage", "basket_id"}
STRATEGY_ROUTES = {"/options/strategies", "/options/baskets/{basket_id}/strategies"}
SPARE_ACCOUNT = {"client_id": "SPARE789", "broker": "UPSTOX"}


def valid_body(method: str, resource: str, ids: dict[str, Any]) -> dict[str, Any]:
    """A body each route takes as it is (checked below), whose fields are then made wrong."""
    new_leg = {
        **copy.deepcopy(LEGS["legs"][0]),
        "leg_no": 5,
        "strike_selection_config": {"method": "DELTA", "delta_value": 0.2},
        "position_sizing": {"min_lots": 1, "max_lots": 4, "lot_increment": 1},
        "enabled": True,
    }
    del new_leg["entry_by"]
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/options/baskets"): BASKET,
        ("PUT", "/options/baskets/{basket_id}"): {
            "basket_name": "Income",
            "description": "Renamed",
            "initial_capital": 600000,
            "deployable_percentage": 75.5,
            "current_capital": 550000,
            "creator_name": "Alice",
            "status": "ACTIVE",
        },
        ("POST", "/options/strategies"): STRATEGY,
        ("POST", "/options/baskets/{basket_id}/strategies"): STRATEGY,
        ("PUT", "/options/strategies/{strategy_id}"): {
            key: value for key, value in STRATEGY.items() if key != "is_intra_day"
        }
        | {"is_intra_day": False, "status": "ACTIVE", "category": "INCOME"},
        ("POST", "/options/strategies/{strategy_id}/legs"): {"legs": [new_leg]},
        ("PUT", "/options/strategies/{strategy_id}/legs/{leg_no}"): {
            "lots": 2,
            "transaction_type": "SELL",
            "leg_type": "PUT",
            "stop_loss": 40,
            "expiry_offset": 0,
            "entry_slippage": 5,
            "enabled": True,
            "position_sizing": {"min_lots": 1, "lot_increment": 1},
        },
        ("POST", "/options/strategies/{strategy_id}/allocations"): {
            "client_id": SPARE_ACCOUNT["client_id"],
            "priority": 3,
            "allocation_config": {"type": "STRATEGY_LEVEL", "strategy_lots_multiplier": 1},
            "execution_config": {"execution_delay_ms": 0, "prefer_for_entries": True},
        },
        ("POST", "/options/strategies/{strategy_id}/allocations/advanced"): {
            "allocations": [
                {
                    "client_id": SPARE_ACCOUNT["client_id"],
                    "priority": 3,
                    "allocation_config": {
                        "type": "LEG_LEVEL",
                        "leg_overrides": {"1": {"lots": 1, "enabled": True, "notes": "one"}},
                    },
                    "risk_limits": {"max_daily_trades": 5, "max_daily_loss": 1000},
                }
            ]
        },
        ("PUT", "/options/strategies/{strategy_id}/allocations/{client_id}"): {
            "priority": 1,
            "allocation_config": {"type": "STRATEGY_LEVEL", "strategy_lots_multiplier": 2},
            "risk_limits": {"max_daily_trades": 5, "max_daily_loss": 1000},
            "execution_config": {"execution_delay_ms": 10, "prefer_for_exits": False},
            "status": "ACTIVE",
        },
        ("POST", "/options/broker-accounts"): {
            "client_id": "FRESH001",
            "broker": "ZERODHA",
            "mode": "PAPER",
            "display_name": "Fresh",
            "paper_funds": 500000,
        },
        ("POST", "/options/executions/manual"): {
            "strategy_id": ids["strategy_id"],
            "execution_type": "entry",
            "force": False,
        },
    }
    return copy.deepcopy(bodies[(method, resource)])


def required_fields(method: str, resource: str) -> set[str]:
    operation = json.loads(openapi_document())["paths"][resource][method.lower()]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = json.loads(openapi_document())["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return set(schema.get("required", []))


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every field of a body with its path as the API names it (legs[0].lots, a.b)."""
    if isinstance(value, dict):
        return [
            leaf
            for key, item in value.items()
            for leaf in leaves(item, f"{path}.{key}" if path else key)
        ]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def replaced(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    steps = path.replace("[", ".[").split(".")
    node: Any = body
    for step in steps[:-1]:
        node = node[int(step[1:-1])] if step.startswith("[") else node[step]
    last = steps[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    return body


def fields(value: Any, path: str = "") -> list[str]:
    """Every field of a body, objects and lists as well as what they hold, as the API names it."""
    named = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            named += fields(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            named += fields(item, f"{path}[{i}]")
    return named


def _null_is_left_out() -> set[str]:
    """Fields whose absence is stored as None (a GET shows them null: no maximum, no limit), so a
    null for them is the same as leaving them out: every other field refuses null."""
    from shared_utils.domain.models import allocations, baskets, broker_accounts, legs, strategies
    from shared_utils.domain.models.base import ApiModel

    names: set[str] = set()
    for module in (allocations, baskets, broker_accounts, legs, strategies):
        for model in vars(module).values():
            # An update's fields refuse null for themselves: left out is "unchanged" there.
            if (
                isinstance(model, type)
                and issubclass(model, ApiModel)
                and not model.__name__.endswith("Update")
            ):
                names |= {
                    name
                    for name, field in model.model_fields.items()
                    if field.default is None
                    and name not in model.derived_when_left_out
                    and name not in model.null_clears
                    and not any(
                        name in other.derived_when_left_out
                        for other in vars(module).values()
                        if isinstance(other, type) and issubclass(other, ApiModel)
                    )
                }
    return names


NULL_IS_LEFT_OUT = _null_is_left_out()


def null_clears(resource: str, path: str) -> bool:
    name = path.rsplit(".", 1)[-1]
    # A strategy's category may be cleared; a leg's is derived from its side when left out.
    return (
        name in NULL_CLEARS
        or (
            path == "category"
            and (resource in STRATEGY_ROUTES or resource.endswith("{strategy_id}"))
        )
        or name in NULL_IS_LEFT_OUT
    )


def wrong_types(path: str, value: Any) -> list[Any]:
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if isinstance(value, bool):
        return ["yes", "no", 1, 0]
    if isinstance(value, int | float):
        return [str(value), True, float(value)] if name in INTEGER_FIELDS else [str(value), True]
    if isinstance(value, str):
        return [5, True]
    return []


def tables(dynamodb) -> dict[str, list]:
    everything = {}
    for name in dynamodb.list_tables()["TableNames"]:
        items, start = [], {}
        while True:
            page = dynamodb.scan(TableName=name, **start)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        everything[name] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return everything


@pytest.fixture
def ids(alice, iron_condor):
    basket, strategy = iron_condor
    assert alice.post("/options/broker-accounts", SPARE_ACCOUNT).status == 201
    return {
        "basket_id": basket["basket_id"],
        "strategy_id": strategy["strategy_id"],
        "leg_no": 1,
        "client_id": "ZERODHA123",
        "underlying": "NIFTY",
    }


def path_of(resource: str, ids: dict[str, Any]) -> str:
    return resource.format(**ids)


class Refusals:
    """Sends each case and collects what went wrong, so that one run names every failing case."""

    def __init__(self, alice, dynamodb):
        self.alice, self.dynamodb = alice, dynamodb
        self.problems: list[str] = []
        self.state: dict[str, list] | None = None

    def expect(
        self,
        method: str,
        path: str,
        body=None,
        raw: str | None = None,
        status: int | None = None,
        field: str | None = None,
        location: str = "body",
    ) -> None:
        # Each case's scan after is the next one's before (a scan of moto's table is the slow part).
        before = self.state if self.state is not None else tables(self.dynamodb)
        reply = self.alice.call(method, path, body, raw)
        case = f"{method} {path} {(raw if raw is not None else json.dumps(body))[:200]}"
        self.state = tables(self.dynamodb)
        if self.state != before:
            self.problems.append(f"{case}: wrote to a table, answered {reply.status}")
        if not 400 <= reply.status < 500 or (status and reply.status != status):
            self.problems.append(f"{case}: answered {reply.status}, {reply.body}")
            return
        error = (reply.body or {}).get("error") or {}
        if not (
            error.get("code") and error.get("message") and isinstance(error.get("details"), list)
        ):
            self.problems.append(f"{case}: not the error shape: {reply.body}")
            return
        if field is not None:
            named = [(d.get("field", ""), d.get("location")) for d in error["details"]]
            if not any(f == field or f.startswith((f"{field}.", f"{field}[")) for f, _ in named):
                self.problems.append(f"{case}: does not name {field}: {named}")
            elif not all(where == location for f, where in named if f.startswith(field)):
                self.problems.append(
                    f"{case}: {field} is not said to be in the {location}: {named}"
                )

    def check(self) -> None:
        assert not self.problems, f"{len(self.problems)} cases:\n" + "\n".join(self.problems)


@pytest.fixture
def refusals(alice, dynamodb):
    return Refusals(alice, dynamodb)


def test_every_route_that_takes_a_body_has_a_valid_one_here():
    assert {method for method, _ in ROUTES} <= {"GET", "POST", "PUT", "DELETE"}
    ids = {"basket_id": "b", "strategy_id": "s", "leg_no": 1, "client_id": "c"}
    for method, resource in WITH_BODY:
        assert valid_body(method, resource, ids), (method, resource)


@pytest.mark.parametrize(("method", "resource"), WITH_BODY)
def test_the_valid_bodies_are_taken_as_written(alice, ids, method, resource):
    if resource == "/options/executions/manual":
        return  # a manual run places orders; its body's types are checked below like the others
    reply = alice.call(method, path_of(resource, ids), valid_body(method, resource, ids))
    assert reply.status in (200, 201), reply.body


@pytest.mark.parametrize(("method", "resource"), ROUTES)
def test_a_body_that_is_not_one_json_object_is_refused(refusals, ids, method, resource):
    path = path_of(resource, ids)
    basket = dict(BASKET)
    for raw in ("[]", json.dumps([basket, {**basket, "basket_name": "Second"}]), '"text"', "5"):
        refusals.expect(method, path, raw=raw, status=422, field="body")
    refusals.expect(method, path, raw="null", status=422, field="body")
    for raw in ("{", "{'basket_name': 'x'}", '{"a": NaN}', '{"a": Infinity}', "1" * 5000):
        refusals.expect(method, path, raw=raw, status=400)
    deep = "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1)
    refusals.expect(method, path, raw='{"a": ' + deep + "}", status=400)
    refusals.expect(method, path, raw='{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", status=413)
    refusals.expect(method, path, raw='{"a": ' + "[" * 20_000 + "}", status=400)
    refusals.expect(method, path, raw='{"a": "' + "x" * MAX_BODY_BYTES + '"}', status=413)
    refusals.expect(method, path, raw='{"a": "\\ud800"}', status=400)
    refusals.check()


@pytest.mark.parametrize(("method", "resource"), WITH_BODY)
def test_a_repeated_key_is_refused_naming_it(refusals, ids, method, resource):
    body = valid_body(method, resource, ids)
    first = next(iter(body))
    raw = json.dumps(body)[:-1] + f", {json.dumps(first)}: {json.dumps(body[first])}}}"
    refusals.expect(method, path_of(resource, ids), raw=raw, status=400, field=first)
    refusals.check()


@pytest.mark.parametrize(("method", "resource"), WITH_BODY)
def test_every_field_in_the_wrong_json_type_is_refused_naming_it(refusals, ids, method, resource):
    body, path = valid_body(method, resource, ids), path_of(resource, ids)
    for field, value in leaves(body):
        for wrong in wrong_types(field, value):
            refusals.expect(method, path, replaced(body, field, wrong), status=422, field=field)
    refusals.check()


@pytest.mark.parametrize(("method", "resource"), WITH_BODY)
def test_null_for_any_field_that_null_does_not_clear_is_refused_naming_it(
    refusals, ids, method, resource
):
    body, path = valid_body(method, resource, ids), path_of(resource, ids)
    for field in fields(body):
        if not null_clears(resource, field):
            refusals.expect(method, path, replaced(body, field, None), status=422, field=field)
    refusals.check()


@pytest.mark.parametrize(
    ("method", "resource", "field", "name"),
    [
        (
            "PUT",
            "/options/strategies/{strategy_id}/allocations/{client_id}",
            "allocation_config.strategy_lots_multiplier",
            "allocation_config.strategy_lots_multiplier",
        ),
        ("POST", "/options/strategies", "is_intra_day", "is_intra_day"),
        (
            "POST",
            "/options/strategies/{strategy_id}/legs",
            "legs[0].underlying",
            "legs[0].underlying",
        ),
    ],
)
def test_null_for_a_field_that_may_be_left_out_is_not_its_default(
    refusals, ids, method, resource, field, name
):
    """Found by an attacker: each of these was taken (200/201), the null read as the default."""
    body = replaced(valid_body(method, resource, ids), field, None)
    refusals.expect(method, path_of(resource, ids), body, status=422, field=name)
    refusals.check()


def test_null_where_it_clears_is_still_taken(alice, ids):
    path = path_of("/options/strategies/{strategy_id}/legs/{leg_no}", ids)
    reply = alice.call("PUT", path, {"stop_loss": None, "entry_max_slippage": None})
    assert reply.status == 200, reply.body
    assert reply.body["stop_loss"] is None
    assert reply.body["entry_max_slippage"] is None
    strategy = alice.call("POST", "/options/strategies", {**STRATEGY, "category": None})
    assert strategy.status == 201, strategy.body


def test_a_leg_override_under_two_spellings_of_one_leg_is_refused(refusals, ids):
    body = valid_body("POST", "/options/strategies/{strategy_id}/allocations/advanced", ids)
    body["allocations"][0]["allocation_config"]["leg_overrides"] = {
        "1": {"lots": 1},
        " 1 ": {"lots": 2},
    }
    path = path_of("/options/strategies/{strategy_id}/allocations/advanced", ids)
    refusals.expect(
        "POST", path, body, status=422, field="allocations[0].allocation_config.leg_overrides"
    )
    refusals.check()


@pytest.mark.parametrize(("method", "resource"), ROUTES)
def test_an_unknown_or_repeated_query_parameter_is_refused_naming_it(
    refusals, ids, method, resource
):
    path = path_of(resource, ids)
    body = valid_body(method, resource, ids) if (method, resource) in WITH_BODY else None
    refusals.expect(method, f"{path}?bogus=1", body, status=422, field="bogus", location="query")
    refusals.check()


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=5.0",
        "limit=0",
        "limit=101",
        "limit=true",
        "limit=1_0",
        "limit=-1",
        "next_token=not-a-token",
        "limit=5&limit=6",
        "limit=99999999999999999999",
    ],
)
@pytest.mark.parametrize(
    "resource", ["/options/baskets", "/options/strategies", "/options/broker-accounts"]
)
def test_paging_parameters_are_checked(refusals, ids, resource, query):
    field = query.split("=", 1)[0]
    refusals.expect("GET", f"{resource}?{query}", status=None, field=field, location="query")
    refusals.check()


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=99999999999999999999", "at most 100"),
        ("limit=101", "at most 100"),
        ("limit=0", "at least 1"),
        ("limit=5&limit=6", "given twice"),
        ("limit=abc", "digits"),
        ("next_token=not-a-token", "not a token"),
    ],
)
@pytest.mark.parametrize(
    "resource", ["/options/baskets", "/options/strategies", "/options/broker-accounts"]
)
def test_a_query_error_says_what_is_wrong_in_words_and_where(alice, ids, resource, query, says):
    reply = alice.call("GET", f"{resource}?{query}")
    assert 400 <= reply.status < 500, reply.body
    details = reply.body["error"]["details"]
    assert details, reply.body
    for detail in details:
        assert detail["field"] == query.split("=", 1)[0], detail
        assert detail["location"] == "query", detail
        assert says in detail["message"], detail
        assert not detail["message"].startswith("Input should"), detail
    assert reply.body["error"]["message"].startswith(f"{details[0]['field']}: "), reply.body


@pytest.mark.parametrize("leg_no", ["99999999999999999999", "7", "0", "x"])
def test_a_path_error_says_what_is_wrong_in_words_and_where(alice, ids, leg_no):
    reply = alice.call("DELETE", f"/options/strategies/{ids['strategy_id']}/legs/{leg_no}")
    assert reply.status == 422, reply.body
    [detail] = reply.body["error"]["details"]
    assert (detail["field"], detail["location"]) == ("leg_no", "path"), detail
    assert not detail["message"].startswith("Input should"), detail
    if leg_no.isdigit():
        assert ("at most 6" if int(leg_no) > 6 else "at least 1") in detail["message"], detail


@pytest.mark.parametrize(
    ("method", "resource", "field"),
    [
        ("POST", "/options/baskets", "basket_name"),
        ("POST", "/options/strategies", "strategy_name"),
        ("POST", "/options/broker-accounts", "client_id"),
        ("POST", "/options/strategies/{strategy_id}/allocations", "client_id"),
        ("PUT", "/options/baskets/{basket_id}", "basket_name"),
        ("PUT", "/options/baskets/{basket_id}", "basket_id"),
        ("PUT", "/options/strategies/{strategy_id}", "strategy_name"),
        ("PUT", "/options/strategies/{strategy_id}", "strategy_id"),
        ("POST", "/options/strategies", "basket_id"),
        ("PUT", "/options/strategies/{strategy_id}/allocations/{client_id}", "client_id"),
        ("PUT", "/options/strategies/{strategy_id}/legs/{leg_no}", "strategy_id"),
    ],
)
def test_a_required_name_or_id_of_only_whitespace_is_refused(
    refusals, ids, method, resource, field
):
    body = {**valid_body(method, resource, ids), field: " \t  "}
    refusals.expect(method, path_of(resource, ids), body, status=422, field=field)
    refusals.check()


@pytest.mark.parametrize(
    "query",
    ["on=9999-12-31", "on=0001-01-01", "on=1772409600", "on=2026-02-30", "on=", "count=1.0"],
)
@pytest.mark.parametrize(
    "resource",
    [
        "/options/market/instruments",
        "/options/market/instruments/NIFTY",
        "/options/market/expiries/NIFTY",
    ],
)
def test_market_dates_outside_the_calendar_and_odd_numbers_are_refused(refusals, resource, query):
    field = query.split("=", 1)[0]  # count is no parameter of the instruments: refused as unknown
    refusals.expect("GET", f"{resource}?{query}", status=422, field=field, location="query")
    refusals.check()


@pytest.mark.parametrize("leg_no", ["1.0", "+1", "0", "7", "one"])
def test_a_leg_number_in_the_path_is_digits_from_1_to_6(refusals, ids, leg_no):
    path = f"/options/strategies/{ids['strategy_id']}/legs/{leg_no}"
    refusals.expect("PUT", path, {"lots": 3}, status=422, field="leg_no", location="path")
    refusals.expect("DELETE", path, status=422, field="leg_no", location="path")
    refusals.check()


@pytest.mark.parametrize(("method", "resource"), WITH_BODY)
def test_a_body_that_is_not_utf8_is_refused(gateway, dynamodb, ids, method, resource):
    """API Gateway hands a binary body over base64-encoded; that is the only way bytes that are not
    UTF-8 reach a function."""
    before = tables(dynamodb)
    route = next(r for r in gateway.wiring.routes if (r.method, r.resource) == (method, resource))
    event = proxy_event(
        method,
        path_of(resource, ids),
        resource,
        {k: str(v) for k, v in ids.items() if "{" + k + "}" in resource},
        "",
        {"Content-Type": "application/json", "Authorization": "Bearer alice"},
        base64.b64encode(b'{"basket_name": "\xff\xfe"}').decode(),
        {"sub": "sub-alice"},
        "127.0.0.1",
    )
    event["isBase64Encoded"] = True
    result = gateway.wiring.handler(route.function)(event, LambdaContext(route.function))
    assert result["statusCode"] == 400, result
    assert json.loads(result["body"])["error"]["code"] == "BAD_REQUEST"
    assert tables(dynamodb) == before


ID_ROUTES = [
    (method, resource, name)
    for method, resource in ROUTES
    for name in ("basket_id", "strategy_id", "client_id")
    if "{" + name + "}" in resource
]


@pytest.mark.parametrize(("method", "resource", "name"), ID_ROUTES)
def test_an_id_in_the_path_longer_than_any_id_is_refused_naming_it(
    refusals, ids, method, resource, name
):
    path = path_of(resource, {**ids, name: "x" * (MAX_ID_LENGTH + 1)})
    body = valid_body(method, resource, ids) if (method, resource) in WITH_BODY else None
    refusals.expect(method, path, body, status=422, field=name, location="path")
    refusals.check()


PATH_PARAMETER_ROUTES = [
    (method, resource, name)
    for method, resource in ROUTES
    for name in ("basket_id", "strategy_id", "client_id", "leg_no", "underlying")
    if "{" + name + "}" in resource
]


@pytest.mark.parametrize(("method", "resource", "name"), PATH_PARAMETER_ROUTES)
def test_a_control_character_in_a_path_parameter_is_refused_not_routed_elsewhere(
    refusals, ids, method, resource, name
):
    """`strategies/%0A` was answered as the list of strategies, and `strategies/<id>%0A` would be
    answered as that strategy: the router's patterns also match before a final newline. An
    encoded slash is a separator to it: `strategies/<id>%2Flegs` was answered as the legs."""
    body = valid_body(method, resource, ids) if (method, resource) in WITH_BODY else None
    for encoded in (
        *("%0A", "%0D", "%00", "%09", "%7F", "{id}%0A", "{id}%1B", "a%0Ab"),
        *("%C2%85", "{id}%E2%80%A8", "{id}%2Flegs", "{id}%2F", "%2F"),  # C1, U+2028, slashes
    ):
        path = path_of(resource, {**ids, name: encoded.format(id=ids[name])})
        refusals.expect(method, path, body, status=422, field=name, location="path")
    refusals.check()
