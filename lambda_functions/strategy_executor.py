"""The execution workflow's task: one execution of one strategy (claimed once, whatever retries)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import executor
from lambda_functions.observability import count, logger, observed
from shared_utils.adapters.aws.execution_workflow import execution_of, report_payload


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = executor().execute(execution_of(event["execution"]))
    result = report_payload(report)
    count(f"Executions{report.status.title().replace('_', '')}")
    logger.info("execution", extra={"result": {k: v for k, v in result.items() if k != "failures"}})
    return {**result, "total_premium": str(result.get("total_premium", 0))}
