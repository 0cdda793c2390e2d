"""Check Stop Loss events: close every open position that must go (stop loss, intraday square-off,
daily loss limit), once, on the account that holds it."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import position_watch

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = position_watch().run()
    metrics.add_metric(
        name="OpenPositionsWatched", unit=MetricUnit.Count, value=result.positions_watched
    )
    metrics.add_metric(
        name="StopLossesTriggered", unit=MetricUnit.Count, value=len(result.stop_losses)
    )
    metrics.add_metric(
        name="IntradaySquareOffs", unit=MetricUnit.Count, value=len(result.square_offs)
    )
    metrics.add_metric(
        name="DailyLossExits", unit=MetricUnit.Count, value=len(result.daily_loss_exits)
    )
    logger.info("position watch", extra={"result": result.as_dict()})
    return result.as_dict()
