"""The master timer's task each minute: put the due events on the bus, say when the next tick is."""

from datetime import datetime
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.environment import EventEmitterEnvironment, read
from lambda_functions.observability import count, logger, observed
from shared_utils.engine.emitter import EventPublisher, catching_up, tick
from shared_utils.market.calendar import built_in_calendar


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    environment = read(EventEmitterEnvironment)
    # boto3 types the entries as TypedDicts; the emitter builds them as dicts with those keys.
    bus = cast(EventPublisher, boto3.client("events"))
    now = environment.clock().now()
    # The timer hands each tick the one it was scheduled for; the first tick of a run has none.
    scheduled = event.get("scheduled_tick")
    result = tick(
        now,
        built_in_calendar(),
        bus,
        environment.event_bus_name,
        catch_up=catching_up(
            now, datetime.fromisoformat(scheduled.replace("Z", "+00:00")) if scheduled else None
        ),
    )
    count("TimerEventsEmitted", len(result.emitted))
    if result.failed:
        count("TimerEventsFailed", len(result.failed))
        logger.warning("events not delivered to the bus", extra={"failed": result.failed})
    return result.as_dict()
