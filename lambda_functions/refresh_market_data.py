"""Refresh Market Data events: fetch anew the chains that open positions and the next minute's
entries price from."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import configuration, market
from shared_utils.domain.clock import clock_from_environment
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.engine.market_refresh import refresh_market_data
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.expiries import ExpiryCalendar

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = refresh_market_data(
        repository=configuration().repository,
        market=market(),
        catalog=built_in_catalog(),
        expiries=ExpiryCalendar(built_in_calendar()),
        clock=clock_from_environment(),
    )
    metrics.add_metric(name="ChainsRefreshed", unit=MetricUnit.Count, value=len(result.refreshed))
    if result.failed:
        metrics.add_metric(
            name="ChainRefreshFailures", unit=MetricUnit.Count, value=len(result.failed)
        )
        logger.warning("chains not refreshed", extra={"failed": result.failed})
    logger.info("market data refresh", extra={"result": result.__dict__})
    return result.__dict__
