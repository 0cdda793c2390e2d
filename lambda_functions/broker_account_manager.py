"""Broker accounts a trader allocates strategies to. PAPER unless LIVE is asked for explicitly."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.logging import correlation_paths

from lambda_functions.common import Limit, NextToken, build_app, caller_id, configuration, no_content, resolve
from shared_utils.models import BrokerAccount, BrokerAccountCreate, ItemList

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="OptionsStrategyPlatform")
router = Router()


@router.get("/options/broker-accounts", tags=["Broker accounts"], summary="The caller's broker accounts")
def list_broker_accounts(limit: Limit = None, next_token: NextToken = None) -> ItemList[BrokerAccount]:
    accounts, token = configuration().list_broker_accounts(caller_id(router), limit, next_token)
    return ItemList[BrokerAccount](items=accounts, next_token=token)


@router.post("/options/broker-accounts", status_code=201, tags=["Broker accounts"], summary="Register a broker account")
def create_broker_account(account: BrokerAccountCreate) -> BrokerAccount:
    return configuration().create_broker_account(caller_id(router), account)


@router.delete("/options/broker-accounts/<client_id>", tags=["Broker accounts"], summary="Remove an unallocated account")
def delete_broker_account(client_id: str):
    configuration().delete_broker_account(caller_id(router), client_id)
    return no_content()


app = build_app(router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return resolve(app, event, context)
