"""The execution workflow's task: one execution of one strategy (claimed once, whatever retries)."""
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.common import configuration
from shared_utils.brokers import PaperBroker
from shared_utils.clock import clock_from_environment
from shared_utils.executor import ExecutionRef, StrategyExecutor
from shared_utils.expiries import ExpiryCalendar
from shared_utils.instruments import built_in_catalog
from shared_utils.market_cache import CachedMarketData
from shared_utils.market_data import SimulatedMarket
from shared_utils.trading_calendar import built_in_calendar

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")


class LiveTradingUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=1)
def executor() -> StrategyExecutor:
    repository, clock = configuration().repository, clock_from_environment()
    catalog, calendar = built_in_catalog(), built_in_calendar()
    # The simulated market is the only market data this platform has; paper trading runs on it.
    market = CachedMarketData(SimulatedMarket(catalog, calendar), repository, clock)

    def broker_for(user_id: str, client_id: str, broker: str, mode: str):
        if mode != "PAPER":
            raise LiveTradingUnavailable(f"{client_id} is a LIVE {broker} account; live order placement has no broker adapter yet")
        return PaperBroker(repository, market, catalog, calendar, clock, user_id, client_id)

    return StrategyExecutor(repository, market, catalog, ExpiryCalendar(calendar), clock, broker_for)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    result = executor().execute(ExecutionRef(**event["execution"]))
    metrics.add_metric(name=f"Executions{result['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("execution", extra={k: v for k, v in result.items() if k != "failures"})
    return {**result, "total_premium": str(result.get("total_premium", 0))}
