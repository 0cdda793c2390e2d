"""A request body read strictly, before the resolver parses it: the same checks in AWS as locally.

Refused with a 400: text that is not UTF-8, not JSON (NaN and Infinity are not JSON either), nested
deeper than MAX_NESTING (checked on the text, so that parsing never recurses that deep), an object
with the same key twice (which value was meant cannot be known), a string that is not Unicode text.
Refused with a 413: more than MAX_BODY_BYTES. Refused with a 422: JSON that is not an object, since
every body this API takes is one (an array is never read as its first element).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

# The largest body the API takes (20 allocations of 6 legs each) is about 20 KB.
MAX_BODY_BYTES = 64 * 1024
MAX_NESTING = 32


@dataclass
class BodyRefused(Exception):
    status: HTTPStatus
    code: str
    message: str
    details: list[dict[str, str]] = field(default_factory=list)


def _bad_request(message: str, details: list[dict[str, str]] | None = None) -> BodyRefused:
    return BodyRefused(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", message, details or [])


def check_body(body: str | None, is_base64_encoded: bool = False) -> None:
    """Raises BodyRefused unless the body is absent or one JSON object the API can read."""
    if body is None or body == "":
        return
    if is_base64_encoded:
        body = _decoded(body)
    if len(body.encode("utf-8", errors="surrogatepass")) > MAX_BODY_BYTES:
        raise BodyRefused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            f"the body is over {MAX_BODY_BYTES} bytes",
        )
    parsed = strict_json(body)
    if not isinstance(parsed, dict):
        raise BodyRefused(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            f"body: must be a JSON object, not {_json_kind(parsed)}",
            [
                {
                    "field": "body",
                    "location": "body",
                    "message": f"must be a JSON object, not {_json_kind(parsed)}",
                }
            ],
        )


def strict_json(text: str) -> Any:
    """json.loads with the API's rules; the resolver parses bodies with this too."""
    if nesting_exceeds(text, MAX_NESTING):
        raise _bad_request(f"the body nests objects and arrays more than {MAX_NESTING} levels deep")
    try:
        parsed = json.loads(text, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)
    except ValueError as error:  # JSONDecodeError, and an integer of more than 4300 digits
        raise _bad_request(f"the body is not valid JSON: {error}") from None
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate escape such as "\ud800": valid JSON, but no text a table can store.
        raise _bad_request("the body has a string that is not valid Unicode text") from None
    return parsed


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether objects and arrays nest deeper than limit, in one pass over the text that skips
    strings (a "[" inside a name is not nesting)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _decoded(body: str) -> str:
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _bad_request("the body is not UTF-8 text") from None


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _bad_request(
                f"{key}: appears twice in one object; send each field once",
                [{"field": key, "location": "body", "message": "appears twice in one object"}],
            )
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise _bad_request(f"the body is not valid JSON: {name} is not a JSON number")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
