"""Schedule Strategy Trigger events: record what is due in the window and start its workflows."""

from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import engine
from lambda_functions.environment import ScheduleTriggerEnvironment, read
from lambda_functions.observability import count, logger, observed
from shared_utils.adapters.aws.execution_workflow import workflow_input
from shared_utils.engine.trigger import trigger
from shared_utils.market.calendar import built_in_calendar


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    environment = read(ScheduleTriggerEnvironment)
    window = event["detail"]["window"]
    stepfunctions = boto3.client("stepfunctions")
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
    )
    count("ExecutionsScheduled", result.created)
    count("ExecutionWorkflowsStarted", result.workflows_started)
    # Under a key of its own: "created" and the like are LogRecord attributes and may not be overwritten.
    logger.info("schedule trigger", extra={"result": result.__dict__})
    return result.__dict__
