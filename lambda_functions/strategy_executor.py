"""The execution workflow's task: one execution of one strategy (claimed once, whatever retries)."""

from lambda_functions.composition import executor
from lambda_functions.observability import count, logger, observed
from shared_utils.engine.executor import ExecutionRef


@observed()
def lambda_handler(event, context):
    result = executor().execute(ExecutionRef(**event["execution"]))
    count(f"Executions{result['status'].title().replace('_', '')}")
    logger.info("execution", extra={"result": {k: v for k, v in result.items() if k != "failures"}})
    return {**result, "total_premium": str(result.get("total_premium", 0))}
