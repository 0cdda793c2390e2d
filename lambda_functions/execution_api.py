"""Executions, positions and orders: what ran, what is held, what was sent, and a manual run."""

import re
from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BeforeValidator, Field, StrictBool, StringConstraints

from lambda_functions.api import ISO_DAY, api_function, caller_id, json_numbers, unpaged
from lambda_functions.composition import execution_queries, today
from shared_utils.adapters.aws.execution_workflow import report_payload
from shared_utils.domain.errors import InvalidInput
from shared_utils.domain.models import ApiModel
from shared_utils.market.calendar import built_in_calendar

router = Router()
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# As DESIGN section 5 spells them, and like every enum of the API the string's case is not
# significant ("ENTRY" is "entry"); anything but a string (a number, a boolean) is a 422.
Kind = Annotated[Literal["entry", "exit"], BeforeValidator(_lower)]


def _in_calendar(name: str, on: date | None) -> date | None:
    """A date asked must be in the years the trading calendar covers (9999-12-31 is a 422 naming
    the parameter, not an answer about a day no calendar knows)."""
    if on is None:
        return None
    holidays = built_in_calendar().holidays
    first, last = date(min(holidays).year, 1, 1), date(max(holidays).year, 12, 31)
    if not first <= on <= last:
        raise InvalidInput.at(
            name, f"must be from {first} to {last}, the years the trading calendar covers"
        )
    return on


class ManualExecution(ApiModel):
    """A manual run: never one that already ran today unless `force`, never two at once."""

    strategy_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
    execution_type: Kind
    force: StrictBool = Field(
        False, description="Run it again although today's already ran (true or false, nothing else)"
    )


def _items(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return unpaged(json_numbers(rows))


@router.get("/options/executions/schedule", tags=["Executions"], summary="What runs on a date")
def schedule(
    date_: Annotated[
        date | None, ISO_DAY, Query(alias="date", description="YYYY-MM-DD (default: today, IST)")
    ] = None,
    type_: Annotated[Kind | None, Query(alias="type", description="entry or exit")] = None,
) -> dict:
    on = _in_calendar("date", date_) or today()
    return _items(execution_queries().schedule(caller_id(router), on, type_))


@router.get(
    "/options/executions/history", tags=["Executions"], summary="Executions that ran, with results"
)
def history(
    strategy_id: Annotated[str | None, Query()] = None,
    from_date: Annotated[date | None, ISO_DAY, Query(description="YYYY-MM-DD")] = None,
    to_date: Annotated[date | None, ISO_DAY, Query(description="YYYY-MM-DD")] = None,
) -> dict:
    found = execution_queries().history(
        caller_id(router),
        strategy_id,
        _in_calendar("from_date", from_date),
        _in_calendar("to_date", to_date),
    )
    page = _items(found.records)
    if found.unreadable:  # the rest is still answered; these keys are named, not hidden
        page["unreadable"] = [
            {"key": unreadable.key, "reason": unreadable.reason} for unreadable in found.unreadable
        ]
    return page


@router.get(
    "/options/reports/daily",
    tags=["Executions"],
    summary="A day's orders, fills, positions and P&L per strategy and account",
)
def daily_report(
    date_: Annotated[
        date | None, ISO_DAY, Query(alias="date", description="YYYY-MM-DD (default: today, IST)")
    ] = None,
) -> dict:
    on = _in_calendar("date", date_) or today()
    report: dict[str, Any] = json_numbers(execution_queries().daily_report(caller_id(router), on))
    return report


@router.get(
    "/options/positions", tags=["Executions"], summary="Net positions per account and leg, with P&L"
)
def positions(
    strategy_id: Annotated[str | None, Query()] = None,
    client_id: Annotated[str | None, Query()] = None,
) -> dict:
    return _items(execution_queries().positions(caller_id(router), strategy_id, client_id))


@router.get(
    "/options/orders", tags=["Executions"], summary="Every order sent for the caller's strategies"
)
def orders(
    strategy_id: Annotated[str | None, Query()] = None,
    date_: Annotated[date | None, ISO_DAY, Query(alias="date", description="YYYY-MM-DD")] = None,
    client_id: Annotated[str | None, Query()] = None,
) -> dict:
    on = _in_calendar("date", date_)
    return _items(execution_queries().orders(caller_id(router), strategy_id, on, client_id))


@router.post(
    "/options/executions/manual",
    tags=["Executions"],
    summary="Run an entry or exit now (never twice unless forced)",
)
def manual(request: ManualExecution) -> dict:
    report = execution_queries().run_now(
        caller_id(router),
        request.strategy_id,
        request.execution_type,
        request.force,
        _idempotency_key(),
    )
    payload: dict[str, Any] = json_numbers(report_payload(report))
    return payload


def _idempotency_key() -> str | None:
    """The client's optional Idempotency-Key header (any case): the same key answers the same."""
    headers = router.current_event.headers or {}
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput.at(
            "Idempotency-Key",
            "must be 1 to 128 letters, digits and the characters - _ . : (a UUID)",
        )
    return key


app, lambda_handler = api_function(router)
