"""The API's OpenAPI document, generated from the same routes and models the handlers use."""

import json
from functools import lru_cache

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
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}
ERROR_RESPONSES = {
    "400": "The body is not JSON",
    "401": "No valid ID token",
    "404": "Missing, or not the caller's",
    "409": "A stale version, a duplicate, or a delete that would orphan something",
    "422": "A field breaks a rule; the message names it",
}


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
            for status, description in ERROR_RESPONSES.items():
                responses[status] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    return json.dumps(document)


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
