"""The API's OpenAPI document, generated from the same routes and models the handlers use."""
from functools import lru_cache

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths

from lambda_functions import basket_manager, broker_account_manager, strategy_broker_allocator, strategy_manager
from lambda_functions.common import build_app

logger, tracer = Logger(), Tracer()
router = Router()
TITLE, VERSION = "Options Strategy Platform API", "1.0.0"
API_ROUTERS = (basket_manager.router, strategy_manager.router, strategy_broker_allocator.router, broker_account_manager.router)


@lru_cache(maxsize=1)
def openapi_document() -> str:
    return build_app(*API_ROUTERS).get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Baskets of multi-leg option strategies whose legs are allocated to broker accounts, lot by lot.",
        security_schemes={"CognitoIdToken": HTTPBearer(bearerFormat="JWT", description="A Cognito ID token")},
        security=[{"CognitoIdToken": []}],
    )


@router.get("/openapi.json", tags=["Documentation"], summary="This API's OpenAPI document", include_in_schema=False)
def get_openapi():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


app = build_app(router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
