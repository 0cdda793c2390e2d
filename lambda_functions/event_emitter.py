"""The master timer's task each minute: put the due events on the bus, say when the next tick is."""

from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.environment import EventEmitterEnvironment, read
from lambda_functions.observability import count, logger, observed
from shared_utils.engine.emitter import EventPublisher, tick
from shared_utils.market.calendar import built_in_calendar


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    environment = read(EventEmitterEnvironment)
    # boto3 types the entries as TypedDicts; the emitter builds them as dicts with those keys.
    bus = cast(EventPublisher, boto3.client("events"))
    result = tick(environment.clock().now(), built_in_calendar(), bus, environment.event_bus_name)
    count("TimerEventsEmitted", len(result.emitted))
    if result.failed:
        count("TimerEventsFailed", len(result.failed))
        logger.warning("events not delivered to the bus", extra={"failed": result.failed})
    return result.as_dict()
