"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis): whatever a
client sends, the answer is never a 5xx, and every answer is one the document describes. And any
JSON in place of a create's body or one of its fields: never a 5xx, nothing written after a 4xx."""

import json
import threading
from urllib.parse import quote

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from lambda_functions.api_docs import openapi_document
from local_platform.api_gateway import LocalApiGateway
from local_platform.wiring import create_table, load
from tests.conftest import TABLE_NAME
from tests.integration.conftest import CACHED_FACTORIES, StubVerifier
from tests.journey import BASKET, STRATEGY

_state = threading.local()


def wsgi_app(environ, start_response):
    """The local platform's gateway front as a WSGI app, so schemathesis can call it in-process."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = (
        environ["wsgi.input"].read(length).decode("utf-8", errors="replace") if length else None
    )  # as the front does
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    # WSGI servers decode PATH_INFO; an HTTP server sees it encoded, as the front expects.
    path = quote(
        environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", errors="replace"), safe="/"
    )
    target = path + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    reply = _state.gateway.handle(environ["REQUEST_METHOD"], target, headers, body)
    start_response(f"{reply.status} X", list(reply.headers.items()))
    return [reply.body.encode()]


schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))
schema.app = wsgi_app


@pytest.fixture(scope="module", autouse=True)
def platform():
    monkey = pytest.MonkeyPatch()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        create_table(client, TABLE_NAME)
        monkey.setenv("TABLE_NAME", TABLE_NAME)
        monkey.setenv("PLATFORM_CLOCK_START", "2026-03-02T09:25:00+05:30")
        for factory in CACHED_FACTORIES:
            factory.cache_clear()
        _state.gateway = LocalApiGateway(load(), StubVerifier())
        yield
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    monkey.undo()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case):
    response = case.call(app=wsgi_app, headers={"Authorization": "Bearer alice"})
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"]
        assert error["message"]
        assert isinstance(error["details"], list)
    case.validate_response(
        response,
        excluded_checks=[
            # Cross-field rules (an MIS strategy exits after it enters, a leg says how its strike is
            # chosen, a LEG_LEVEL allocation lists legs) are beyond JSON Schema: schema-valid bodies
            # may rightly get a 422.
            positive_data_acceptance,
            # The test sends a valid token itself; these checks assume the one they generated (or
            # removed) is in use. Unknown query parameters are ignored, as API Gateway does.
            ignored_auth,
            negative_data_rejection,
        ],
    )


# Any JSON at all, to a depth the API accepts: what a hostile client can put where a field belongs.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
CREATES = {
    "/options/baskets": BASKET,
    "/options/strategies": STRATEGY,
    "/options/broker-accounts": {"client_id": "FUZZ001", "broker": "ZERODHA"},
}


def _call(path: str, body) -> tuple[int, dict]:
    reply = _state.gateway.handle(
        "POST",
        path,
        {"Content-Type": "application/json", "Authorization": "Bearer alice"},
        json.dumps(body),
    )
    return reply.status, json.loads(reply.body) if reply.body else {}


def _items() -> list:
    client = boto3.client("dynamodb", region_name="ap-south-1")
    return sorted(
        json.dumps(item, sort_keys=True) for item in client.scan(TableName=TABLE_NAME)["Items"]
    )


@pytest.mark.parametrize("path", sorted(CREATES))
@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_json_in_place_of_a_field_or_the_body_is_a_4xx_that_writes_nothing(path, data):
    valid = CREATES[path]
    body = data.draw(
        JSON_VALUES.filter(lambda value: not isinstance(value, dict))
        | st.sampled_from(sorted(valid)).flatmap(
            lambda field: JSON_VALUES.filter(lambda value: value != valid[field]).map(
                lambda value: {**valid, field: value}
            )
        )
    )
    before = _items()
    status, reply = _call(path, body)
    assert status < 500, (path, body, reply)
    if not isinstance(body, dict):  # an array is never read as its first element
        assert status == 422, (body, status)
    if status >= 400:  # a value the field may rightly take (another name, 1.5 rupees) is a 201
        assert _items() == before, (body, status)
    if status == 422:
        assert reply["error"]["details"], (body, reply)
