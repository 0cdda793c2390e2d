"""Schedule Strategy Trigger events: record what is due in the window and start its workflows; what
was due while nothing ran is caught up or marked MISSED, with an alert on the bus."""

from datetime import datetime
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import engine
from lambda_functions.environment import ScheduleTriggerEnvironment, read
from lambda_functions.observability import count, logger, observed
from shared_utils.adapters.aws.execution_workflow import workflow_input
from shared_utils.engine.emitter import EventPublisher, alert_types, put_all
from shared_utils.engine.trigger import MissedAlert, trigger
from shared_utils.market.calendar import built_in_calendar


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _on_the_bus(
    events: EventPublisher, bus: str, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Put the alerts on the platform's bus: the trigger's entries that still failed (without the
    bus name, as the trigger built them)."""
    failed = put_all(events, [{**entry, "EventBusName": bus} for entry in entries])
    return [{k: v for k, v in entry.items() if k != "EventBusName"} for entry in failed]


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    environment = read(ScheduleTriggerEnvironment)
    window = event["detail"]["window"]
    stepfunctions = boto3.client("stepfunctions")
    # boto3 types the entries as TypedDicts; the trigger builds them as dicts with those keys.
    events = cast(EventPublisher, boto3.client("events"))
    alert = alert_types()["execution_missed"]
    result = trigger(
        _parse(window["from"]),
        _parse(window["to"]),
        schedule=engine().schedule,
        executions=engine().executions,
        calendar=built_in_calendar(),
        clock=environment.clock(),
        start_workflow=lambda execute_at, executions: stepfunctions.start_execution(
            stateMachineArn=environment.execution_workflow_arn,
            input=workflow_input(execute_at, executions),
        ),
        missed_alert=MissedAlert(
            alert["source"],
            alert["detail_type"],
            lambda entries: _on_the_bus(events, environment.event_bus_name, entries),
        ),
    )
    count("ExecutionsScheduled", result.created)
    count("ExecutionWorkflowsStarted", result.workflows_started)
    if result.late:
        count("ExecutionsRunLate", len(result.late))
        logger.warning("executions found after their time run late", extra={"late": result.late})
    if result.missed:
        count("ExecutionsMissed", len(result.missed))
        logger.warning("executions missed", extra={"missed": result.missed})
    if result.alerts_failed:  # they stay marked to alert: the next trigger sends them again
        count("ExecutionMissedAlertsFailed", len(result.alerts_failed))
        logger.error(
            "Execution Missed alerts not published", extra={"executions": result.alerts_failed}
        )
    # Under a key of its own: "created" and the like are LogRecord attributes and may not be overwritten.
    logger.info("schedule trigger", extra={"result": result.__dict__})
    return result.__dict__
