"""The daily rule's target: start today's master timer (once, whatever retries happen)."""

from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.environment import TimerStarterEnvironment, read
from lambda_functions.observability import logger, observed
from shared_utils.adapters.aws.timer import start_master_timer


@observed(publish_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    environment = read(TimerStarterEnvironment)
    # The rule's scheduled time, not "now": a delayed or retried delivery still names the right day.
    scheduled = event.get("time")
    moment = (
        datetime.fromisoformat(scheduled.replace("Z", "+00:00"))
        if scheduled
        else environment.clock().now()
    )
    result = start_master_timer(boto3.client("stepfunctions"), environment.master_timer_arn, moment)
    logger.info("master timer", extra={"result": result})
    return result
