"""Broker accounts a trader allocates strategies to. PAPER unless LIVE is asked for explicitly."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from lambda_functions.api import Id, Limit, NextToken, api_function, caller_id, no_content
from lambda_functions.composition import configuration
from shared_utils.domain.models import BrokerAccount, BrokerAccountCreate, ItemList

router = Router()


@router.get(
    "/options/broker-accounts", tags=["Broker accounts"], summary="The caller's broker accounts"
)
def list_broker_accounts(
    limit: Limit = None, next_token: NextToken = None
) -> ItemList[BrokerAccount]:
    accounts, token = configuration().broker_accounts.page(caller_id(router), limit, next_token)
    return ItemList[BrokerAccount](items=accounts, next_token=token)


@router.post(
    "/options/broker-accounts",
    status_code=201,
    tags=["Broker accounts"],
    summary="Register a broker account",
)
def create_broker_account(account: BrokerAccountCreate) -> BrokerAccount:
    return configuration().broker_accounts.register(caller_id(router), account)


@router.delete(
    "/options/broker-accounts/<client_id>",
    status_code=204,
    tags=["Broker accounts"],
    summary="Remove an unallocated account",
)
def delete_broker_account(client_id: Id):  # type: ignore[no-untyped-def]  # Powertools documents a return annotation as the body; a delete has none
    configuration().broker_accounts.delete(caller_id(router), client_id)
    return no_content()


app, lambda_handler = api_function(router, publish_metrics=True)
