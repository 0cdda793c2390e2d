"""Schedule Strategy Trigger events: record what is due in the window and start its workflows."""

import os
from datetime import datetime

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import configuration
from shared_utils.domain.clock import clock_from_environment
from shared_utils.engine.trigger import trigger, workflow_input
from shared_utils.market.calendar import built_in_calendar

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    window = event["detail"]["window"]
    stepfunctions = boto3.client("stepfunctions")
    arn = os.environ["EXECUTION_WORKFLOW_ARN"]
    result = trigger(
        _parse(window["from"]),
        _parse(window["to"]),
        repository=configuration().repository,
        calendar=built_in_calendar(),
        clock=clock_from_environment(),
        start_workflow=lambda payload: stepfunctions.start_execution(
            stateMachineArn=arn, input=workflow_input(payload)
        ),
    )
    metrics.add_metric(name="ExecutionsScheduled", unit=MetricUnit.Count, value=result.created)
    metrics.add_metric(
        name="ExecutionWorkflowsStarted", unit=MetricUnit.Count, value=result.workflows_started
    )
    # Under a key of its own: "created" and the like are LogRecord attributes and may not be overwritten.
    logger.info("schedule trigger", extra={"result": result.__dict__})
    return result.__dict__
