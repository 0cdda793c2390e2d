"""What every API handler shares: the resolver with the error contract, the caller, paging, CORS.

Errors always have the shape {"error": {"code", "message", "details"}} (docs/api-reference.md); each
detail names the field and where it was sent (`location`: body, query or path).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from lambda_functions.environment import CorsEnvironment, read
from lambda_functions.observability import LambdaHandler, logger, observed
from lambda_functions.request_body import BodyRefused, check_body, strict_json
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.domain.validation import field_details

PAGE_LIMIT_MAX = 100


# More digits than this is beyond every bound a path or query number has (a page is at most 100).
_MAX_DIGITS = 9


def _digits(value: object) -> object:
    """A number in a path or query is text; only plain digits are one (not "5.0", "1_000", "+5").
    A longer run of digits is still a number, just too large: the bound says so."""
    if not isinstance(value, str):
        return value
    if not re.fullmatch(r"[0-9]+", value):
        raise PydanticCustomError("int_parsing", "must be a whole number written in digits")
    return 10**_MAX_DIGITS if len(value.lstrip("0")) > _MAX_DIGITS else value


# A bound a path or query parameter breaks, in words rather than pydantic's "Input should be".
_BOUND_WORDS = {
    "less_than_equal": "at most {le}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "greater_than": "more than {gt}",
    "string_too_long": "at most {max_length} characters",
    "string_too_short": "at least {min_length} characters",
    "int_type": "must be a whole number written in digits",
    "int_parsing": "must be a whole number written in digits",
    "string_type": "must be text",
}


def _in_words(problem: dict[str, Any]) -> dict[str, Any]:
    loc = problem.get("loc", ())
    words = _BOUND_WORDS.get(str(problem.get("type")))
    if not loc or loc[0] == "body" or words is None:
        return problem
    return {**problem, "msg": words.format(**problem.get("ctx", {}))}


def _iso_day(value: object) -> object:
    """A date in a query is YYYY-MM-DD, and nothing pydantic would also read as one (a Unix time)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise PydanticCustomError("date_parsing", "must be a date written YYYY-MM-DD")
    return value


# Path and query parameters that are numbers or dates: `Annotated[int, Query(...), DIGITS]`.
DIGITS = BeforeValidator(_digits)
ISO_DAY = BeforeValidator(_iso_day)
Limit = Annotated[int | None, Query(ge=1, le=PAGE_LIMIT_MAX, description="Page size"), DIGITS]
NextToken = Annotated[str | None, Query(description="The next_token of the previous page")]
# An id in a path: any text (a numeric-looking one too), but not longer than an id the platform
# issues could be, since DynamoDB refuses a key over 1 KB with an error rather than a miss.
MAX_ID_LENGTH = 128
# What no id holds and the router would read as something else: a slash (an encoded %2F is still a
# path separator to it: strategies/<id>%2Flegs was answered as the legs), and control characters,
# C1 and the Unicode line and paragraph separators among them.
_NOT_IN_A_PATH_PARAMETER = re.compile(r"[/\x00-\x1f\x7f-\x9f\u2028\u2029]")
Id = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]


def error(status: HTTPStatus, code: str, message: str, details: list | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details or []}},
    )


def build_app(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(allow_origin=_cors_origin(), max_age=600),
        json_body_deserializer=strict_json,
    )
    for router in routers:
        app.include_router(router)
    app.use(middlewares=[_require_caller, _only_known_query_parameters])

    @app.exception_handler(RequestValidationError)
    def _bad_request(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "the body is not valid JSON")
        details = field_details([_in_words(e) for e in errors], skip_first=True)
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message, details)

    @app.exception_handler(BodyRefused)
    def _refused(exc: BodyRefused) -> Response:
        return error(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        event = app.current_event
        query = {
            **(event.multi_value_query_string_parameters or {}),
            **(event.query_string_parameters or {}),
        }
        details = [_located(detail, query) for detail in exc.details]
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", exc.message, details)

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error(HTTPStatus.NOT_FOUND, "NOT_FOUND", exc.message)

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error(HTTPStatus.CONFLICT, "CONFLICT", exc.message, exc.details)

    @app.not_found
    def _no_route(_exc: Exception) -> Response:
        return error(
            HTTPStatus.NOT_FOUND,
            "NOT_FOUND",
            f"no route {app.current_event.http_method} {app.current_event.path}",
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "something went wrong; it has been logged",
        )

    return app


def api_function(
    *routers: Router, publish_metrics: bool = False
) -> tuple[APIGatewayRestResolver, LambdaHandler]:
    """The resolver for these routers and the Lambda entry that serves it, with structured logs
    (correlated by API Gateway's request id), traces and, where a handler adds them, metrics."""
    app = build_app(*routers)

    @observed(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, publish_metrics=publish_metrics
    )
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return resolve(app, event, context)

    return app, handler


def resolve(
    app: APIGatewayRestResolver, event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """The one entry of every API handler. A body must be JSON: curl's default form encoding would
    otherwise be parsed as a form and fail with a confusing message about missing fields."""
    content_type = _header(event.get("headers") or {}, "content-type")
    if event.get("body") and content_type and not _is_json(content_type):
        return _refusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            f"send the body as JSON with 'Content-Type: application/json', not {content_type}",
        )
    # Before the resolver parses it: a body nested thousands deep would exhaust the recursion
    # limit inside the parser, and a repeated key or an array would be read as something else.
    try:
        check_body(event.get("body"), bool(event.get("isBase64Encoded")))
    except BodyRefused as refused:
        return _refusal(refused.status, refused.code, refused.message, refused.details)
    # Before the resolver routes: its route patterns end in `$`, which also matches before a final
    # newline, so `strategies/%0A` would be answered as the list of strategies and
    # `strategies/abc%0A` as strategy abc.
    unprintable = [
        {
            "field": name,
            "location": "path",
            "message": "must not hold a slash or a control character",
        }
        for name, value in sorted((event.get("pathParameters") or {}).items())
        if _NOT_IN_A_PATH_PARAMETER.search(value or "")
    ]
    if unprintable:
        message = "; ".join(f"{d['field']}: {d['message']}" for d in unprintable)
        return _refusal(HTTPStatus.UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message, unprintable)
    # Before the resolver: it would validate the values as a list and say only that they are not
    # a number; one of the two would be dropped if it did not.
    repeated = [
        {"field": name, "location": "query", "message": "is given twice; send it once"}
        for name, values in sorted((event.get("multiValueQueryStringParameters") or {}).items())
        if len(values or ()) > 1
    ]
    if repeated:
        message = "; ".join(f"{d['field']}: {d['message']}" for d in repeated)
        return _refusal(HTTPStatus.UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message, repeated)
    return app.resolve(event, context)


def _refusal(
    status: HTTPStatus, code: str, message: str, details: list | None = None
) -> dict[str, Any]:
    """An error answered before the resolver runs, as API Gateway's proxy integration expects it."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": content_types.APPLICATION_JSON,
            "Access-Control-Allow-Origin": _cors_origin(),
        },
        "body": json.dumps({"error": {"code": code, "message": message, "details": details or []}}),
        "isBase64Encoded": False,
    }


def _located(detail: dict[str, str], query: dict[str, Any]) -> dict[str, str]:
    """A rule a service checks names its field; the field was sent in the query or else the body."""
    if "location" in detail:
        return detail
    name = detail.get("field", "").split(".", 1)[0].split("[", 1)[0]
    return {**detail, "location": "query" if name in query else "body"}


def _only_known_query_parameters(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response:
    """A misspelt parameter (`?basket=` for `?basket_id=`) would otherwise be ignored and the
    answer be about something else than was asked."""
    event = app.current_event
    route = app.context.get("_route")
    known = {param.alias for param in route.dependant.query_params} if route else set()
    multi = event.multi_value_query_string_parameters or {}
    accepted = ", ".join(sorted(known)) or "none"
    details = [
        {
            "field": name,
            "location": "query",
            "message": f"is not a parameter of this request (it takes: {accepted})",
        }
        for name in sorted(set(multi) | set(event.query_string_parameters or {}))
        if name not in known
    ]
    if details:
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message, details)
    return next_middleware(app)


def _cors_origin() -> str:
    return read(CorsEnvironment).cors_allow_origin


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _require_caller(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    if not _claims(app).get("sub"):
        return error(
            HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "sign in: send a valid Cognito ID token"
        )
    return next_middleware(app)


def _claims(app: APIGatewayRestResolver | Router) -> dict[str, Any]:
    # Every route here is served by the REST resolver, whose events are API Gateway proxy events.
    event = cast(APIGatewayProxyEvent, app.current_event)
    authorizer = event.request_context.authorizer
    return dict(authorizer.claims or {}) if authorizer else {}


def caller_id(router: Router) -> str:
    """The user is the verified token's `sub` and nothing else."""
    sub: str = _claims(router)["sub"]
    return sub


def caller_name(router: Router) -> str | None:
    claims = _claims(router)
    return claims.get("name") or claims.get("email") or claims.get("cognito:username")


def no_content() -> Response:
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None)


def unpaged(items: Any) -> dict[str, Any]:
    """A list returned whole, in the same envelope as a page: there is no next page."""
    return {"items": items, "next_token": None}


def json_numbers(value: Any) -> Any:
    """Decimals as JSON numbers (whole ones as integers), recursively: the engine's reports carry
    the table's Decimals, which the resolver's encoder would otherwise send as strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return value
