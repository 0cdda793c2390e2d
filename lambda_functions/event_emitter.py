"""The master timer's task each minute: put the due events on the bus, say when the next tick is."""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from shared_utils.domain.clock import clock_from_environment
from shared_utils.engine.emitter import tick
from shared_utils.market.calendar import built_in_calendar

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = tick(
        clock_from_environment().now(),
        built_in_calendar(),
        boto3.client("events"),
        os.environ["EVENT_BUS_NAME"],
    )
    metrics.add_metric(name="TimerEventsEmitted", unit=MetricUnit.Count, value=len(result.emitted))
    if result.failed:
        metrics.add_metric(
            name="TimerEventsFailed", unit=MetricUnit.Count, value=len(result.failed)
        )
        logger.warning("events not delivered to the bus", extra={"failed": result.failed})
    return result.as_dict()
