"""Check Duplicate Orders events: reconcile the last minutes' orders with the brokers' order books;
cancel and flag an order that reached a broker twice, and raise an alert."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import order_reconciliation

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = order_reconciliation().run()
    metrics.add_metric(name="OrdersReconciled", unit=MetricUnit.Count, value=result.orders_checked)
    metrics.add_metric(name="DuplicateOrders", unit=MetricUnit.Count, value=result.duplicates_found)
    if result.account_errors:
        metrics.add_metric(
            name="ReconciliationAccountErrors",
            unit=MetricUnit.Count,
            value=len(result.account_errors),
        )
        logger.warning("accounts not reconciled", extra={"errors": result.account_errors})
    logger.info("order reconciliation", extra={"result": result.__dict__})
    return result.__dict__
