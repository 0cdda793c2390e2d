"""The daily rule's target: start today's master timer (once, whatever retries happen)."""

import os
from datetime import datetime

import boto3

from lambda_functions.observability import logger, observed
from shared_utils.adapters.aws.timer import start_master_timer
from shared_utils.domain.clock import clock_from_environment


@observed(publish_metrics=False)
def lambda_handler(event, context):
    # The rule's scheduled time, not "now": a delayed or retried delivery still names the right day.
    scheduled = event.get("time")
    moment = (
        datetime.fromisoformat(scheduled.replace("Z", "+00:00"))
        if scheduled
        else clock_from_environment().now()
    )
    result = start_master_timer(
        boto3.client("stepfunctions"), os.environ["MASTER_TIMER_ARN"], moment
    )
    logger.info("master timer", extra={"result": result})
    return result
