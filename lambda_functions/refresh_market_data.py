"""Refresh Market Data events: fetch anew the chains that open positions and the next minute's
entries price from."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import clock, engine, market
from lambda_functions.observability import count, logger, observed
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.engine.market_refresh import refresh_market_data
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    stores = engine()
    result = refresh_market_data(
        positions=stores.positions,
        schedule=stores.schedule,
        market=market(),
        catalog=built_in_catalog(),
        expiries=ExpiryCalendar(built_in_calendar()),
        clock=clock(),
    )
    count("ChainsRefreshed", len(result.refreshed))
    if result.failed:
        count("ChainRefreshFailures", len(result.failed))
        logger.warning("chains not refreshed", extra={"failed": result.failed})
    logger.info("market data refresh", extra={"result": result.__dict__})
    return result.__dict__
