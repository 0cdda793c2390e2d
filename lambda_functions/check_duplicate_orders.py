"""Check Duplicate Orders events: reconcile the last minutes' orders with the brokers' order books;
cancel and flag an order that reached a broker twice, and raise an alert."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_functions.composition import order_reconciliation
from lambda_functions.observability import count, logger, observed


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = order_reconciliation().run()
    count("OrdersReconciled", result.orders_checked)
    count("DuplicateOrders", result.duplicates_found)
    if result.account_errors:
        count("ReconciliationAccountErrors", len(result.account_errors))
        logger.warning("accounts not reconciled", extra={"errors": result.account_errors})
    logger.info("order reconciliation", extra={"result": result.__dict__})
    return result.__dict__
