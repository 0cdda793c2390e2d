"""The API's OpenAPI document, generated from the same routes and models the handlers use."""

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from lambda_functions import (
    basket_manager,
    broker_account_manager,
    execution_api,
    market_reference_api,
    strategy_broker_allocator,
    strategy_manager,
)
from lambda_functions.api import api_function, build_app
from lambda_functions.request_body import MAX_BODY_BYTES, MAX_NESTING

router = Router()
TITLE, VERSION = "Options Strategy Platform API", "1.0.0"
API_ROUTERS = (
    basket_manager.router,
    strategy_manager.router,
    strategy_broker_allocator.router,
    broker_account_manager.router,
    market_reference_api.router,
    execution_api.router,
)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["VALIDATION_ERROR"]},
                "message": {"type": "string", "description": "What is wrong, naming the field"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "location", "message"],
                        "properties": {
                            "field": {
                                "type": "string",
                                "description": "A dotted path, e.g. legs[2].lots; body for the body as a whole",
                            },
                            "location": {"type": "string", "enum": ["body", "query", "path"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_RESPONSES = {
    "400": f"The body is not JSON (or not UTF-8), nests deeper than {MAX_NESTING} levels, or repeats a key in one object",
    "401": "No valid ID token",
    "404": "Missing, or not the caller's",
    "409": "A stale version, a duplicate, or a delete that would orphan something",
    "413": f"The body is over {MAX_BODY_BYTES} bytes",
    "422": "A field breaks a rule, or the body is not a JSON object; the details name the field",
}
# Pydantic writes a parameter's bounds under its own names; JSON Schema's are these.
BOUND_NAMES = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
SCHEMA_KEYS = {"type", "anyOf", "allOf", "oneOf", "$ref"}


@lru_cache(maxsize=1)
def openapi_document() -> str:
    """Powertools generates the document from the routes and models; the error responses it
    describes are replaced by the one error shape every handler returns."""
    document = json.loads(_generated_document())
    document["components"]["schemas"]["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        document["components"]["schemas"].pop(name, None)
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "204" in responses:  # a delete answers with no body
                responses["204"] = {"description": "Done; no body"}
            for status, description in ERROR_RESPONSES.items():
                responses[status] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    return json.dumps(_in_json_schema_terms(document))


def _in_json_schema_terms(node: Any) -> Any:
    """Bounds under JSON Schema's names, and a number's default as a number: pydantic writes a
    Decimal default (a basket's 100 percent) as the string "100"."""
    if isinstance(node, list):
        return [_in_json_schema_terms(item) for item in node]
    if not isinstance(node, dict):
        return node
    if not SCHEMA_KEYS & node.keys():
        return {key: _in_json_schema_terms(value) for key, value in node.items()}
    schema = {
        BOUND_NAMES.get(key, key): _in_json_schema_terms(value) for key, value in node.items()
    }
    if schema.get("type") in ("number", "integer") and isinstance(schema.get("default"), str):
        number = Decimal(schema["default"])
        schema["default"] = int(number) if number == number.to_integral_value() else float(number)
    return schema


def _generated_document() -> str:
    return build_app(*API_ROUTERS).get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Baskets of multi-leg option strategies whose legs are allocated to broker accounts, lot by lot.",
        security_schemes={
            "CognitoIdToken": HTTPBearer(bearerFormat="JWT", description="A Cognito ID token")
        },
        security=[{"CognitoIdToken": []}],
    )


@router.get(
    "/openapi.json",
    tags=["Documentation"],
    summary="This API's OpenAPI document",
    include_in_schema=False,
)
def get_openapi():
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document()
    )


app, lambda_handler = api_function(router)
