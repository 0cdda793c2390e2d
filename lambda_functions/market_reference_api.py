"""Market reference data: instruments (lot size, strike step, freeze quantity, expiry rules in force)
and coming expiries with holidays applied."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambda_functions.api import DIGITS, ISO_DAY, api_function, unpaged
from lambda_functions.composition import market_reference, today
from shared_utils.domain.errors import InvalidInput
from shared_utils.market.calendar import built_in_calendar

router = Router()
On = Annotated[
    date | None,
    ISO_DAY,
    Query(description="The date to look from, YYYY-MM-DD (default: today, IST)"),
]


def _looked_up_from(on: date | None) -> date:
    """An asked date must be one the trading calendar lists holidays for: outside those years an
    answer would apply no holidays (and near 9999-12-31 there are no expiries to list at all)."""
    if on is None:
        return today()
    holidays = built_in_calendar().holidays
    first, last = date(min(holidays).year, 1, 1), date(max(holidays).year, 12, 31)
    if not first <= on <= last:
        raise InvalidInput.at(
            "on", f"must be from {first} to {last}, the years the trading calendar covers"
        )
    return on


@router.get(
    "/options/market/instruments",
    tags=["Market"],
    summary="Every underlying with the rules in force",
)
def list_instruments(on: On = None) -> dict:
    return unpaged(market_reference().instruments(_looked_up_from(on)))


@router.get(
    "/options/market/instruments/<underlying>",
    tags=["Market"],
    summary="One underlying with the rules in force",
)
def get_instrument(underlying: str, on: On = None) -> dict:
    return market_reference().instrument(underlying, _looked_up_from(on))


@router.get(
    "/options/market/expiries/<underlying>",
    tags=["Market"],
    summary="The coming expiries, holidays applied",
)
def list_expiries(
    underlying: str,
    on: On = None,
    count: Annotated[int, Query(ge=1, le=12, description="How many expiries"), DIGITS] = 6,
) -> dict:
    return market_reference().coming_expiries(underlying, _looked_up_from(on), count)


app, lambda_handler = api_function(router)
