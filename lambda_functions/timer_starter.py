"""The daily rule's target: start today's master timer (once, whatever retries happen)."""

from datetime import datetime

import boto3

from lambda_functions.environment import TimerStarterEnvironment, read
from lambda_functions.observability import logger, observed
from shared_utils.adapters.aws.timer import start_master_timer


@observed(publish_metrics=False)
def lambda_handler(event, context):
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
