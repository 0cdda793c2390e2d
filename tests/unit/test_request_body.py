"""The body checks made before the resolver parses a body."""

import base64
import json
import sys
from http import HTTPStatus

import pytest

from lambda_functions.request_body import (
    MAX_BODY_BYTES,
    MAX_NESTING,
    BodyRefused,
    check_body,
    nesting_exceeds,
    strict_json,
)


def nested(levels: int) -> str:
    return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def refused(body: str, is_base64_encoded: bool = False) -> BodyRefused:
    with pytest.raises(BodyRefused) as raised:
        check_body(body, is_base64_encoded)
    return raised.value


def test_nesting_up_to_the_limit_is_taken_and_one_more_is_refused():
    check_body(nested(MAX_NESTING))
    assert refused(nested(MAX_NESTING + 1)).status == HTTPStatus.BAD_REQUEST


def test_nesting_far_past_the_recursion_limit_is_refused_without_recursing():
    body = "[" * (sys.getrecursionlimit() * 20)
    assert refused(body).status == HTTPStatus.BAD_REQUEST
    assert "32 levels" in refused(body).message


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
        '{"name": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}',
    ],
)
def test_brackets_inside_a_string_are_not_nesting(text):
    assert not nesting_exceeds(text, 2)
    assert strict_json(text)["name"].count("[") > MAX_NESTING


def test_a_repeated_key_is_refused_naming_it_at_any_depth():
    error = refused('{"legs": [{"lots": 1, "lots": 2}]}')
    assert error.status == HTTPStatus.BAD_REQUEST
    assert error.details[0]["field"] == "lots"


@pytest.mark.parametrize("text", ["{", '{"a": NaN}', '{"a": -Infinity}', "{'a': 1}", "1" * 5000])
def test_what_is_not_json_is_a_400(text):
    assert refused(text).status == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[]", "an array"),
        ("null", "null"),
        ('"x"', "a string"),
        ("3", "a number"),
        ("true", "a boolean"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_422_naming_the_body(text, kind):
    error = refused(text)
    assert error.status == HTTPStatus.UNPROCESSABLE_ENTITY
    assert error.details == [
        {"field": "body", "location": "body", "message": f"must be a JSON object, not {kind}"}
    ]


def test_an_oversize_body_is_a_413():
    body = json.dumps({"a": "x" * MAX_BODY_BYTES})
    assert refused(body).status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_a_lone_surrogate_is_not_text_a_table_can_store():
    assert refused('{"a": "\\udc00"}').status == HTTPStatus.BAD_REQUEST


def test_a_base64_body_must_be_utf8():
    check_body(base64.b64encode('{"a": "₹"}'.encode()).decode(), is_base64_encoded=True)
    assert refused(base64.b64encode(b'{"a": "\xff"}').decode(), True).status == 400
    assert refused("not base64!", True).status == 400


def test_no_body_and_an_empty_one_pass():
    check_body(None)
    check_body("")
