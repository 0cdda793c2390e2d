"""Market reference data: instruments (lot size, strike step, freeze quantity, expiry rules in force)
and coming expiries with holidays applied."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambda_functions.api import api_function, unpaged
from lambda_functions.composition import market_reference, today

router = Router()
On = Annotated[
    date | None, Query(description="The date to look from, YYYY-MM-DD (default: today, IST)")
]


@router.get(
    "/options/market/instruments",
    tags=["Market"],
    summary="Every underlying with the rules in force",
)
def list_instruments(on: On = None) -> dict:
    return unpaged(market_reference().instruments(on or today()))


@router.get(
    "/options/market/instruments/<underlying>",
    tags=["Market"],
    summary="One underlying with the rules in force",
)
def get_instrument(underlying: str, on: On = None) -> dict:
    return market_reference().instrument(underlying, on or today())


@router.get(
    "/options/market/expiries/<underlying>",
    tags=["Market"],
    summary="The coming expiries, holidays applied",
)
def list_expiries(
    underlying: str,
    on: On = None,
    count: Annotated[int, Query(ge=1, le=12, description="How many expiries")] = 6,
) -> dict:
    return market_reference().coming_expiries(underlying, on or today(), count)


app, lambda_handler = api_function(router)
