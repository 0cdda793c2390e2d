"""The execution workflow's task: one execution of one strategy (claimed once, whatever retries)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import executor
from shared_utils.engine.executor import ExecutionRef

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = executor().execute(ExecutionRef(**event["execution"]))
    metrics.add_metric(
        name=f"Executions{result['status'].title().replace('_', '')}",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info("execution", extra={"result": {k: v for k, v in result.items() if k != "failures"}})
    return {**result, "total_premium": str(result.get("total_premium", 0))}
