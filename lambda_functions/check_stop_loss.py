"""Check Stop Loss events: close every open position that must go (stop loss, intraday square-off,
daily loss limit), once, on the account that holds it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import position_watch
from lambda_functions.observability import count, logger, observed
from shared_utils.adapters.aws.execution_workflow import report_payload


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = position_watch().run()
    count("OpenPositionsWatched", result.positions_watched)
    count("StopLossesTriggered", len(result.stop_losses))
    count("IntradaySquareOffs", len(result.square_offs))
    count("DailyLossExits", len(result.daily_loss_exits))
    logger.info("position watch", extra={"result": result.as_dict(report_payload)})
    return result.as_dict(report_payload)
