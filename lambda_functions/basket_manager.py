"""Baskets: a trader's containers of strategies, with the capital they may deploy."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.api import (
    Id,
    Limit,
    NextToken,
    api_function,
    caller_id,
    caller_name,
    no_content,
)
from lambda_functions.composition import configuration
from lambda_functions.observability import metrics
from shared_utils.domain.models import Basket, BasketCreate, BasketDetail, BasketUpdate, ItemList

router = Router()


@router.get("/options/baskets", tags=["Baskets"], summary="The caller's baskets")
def list_baskets(limit: Limit = None, next_token: NextToken = None) -> ItemList[Basket]:
    baskets, token = configuration().baskets.page(caller_id(router), limit, next_token)
    return ItemList[Basket](items=baskets, next_token=token)


@router.post("/options/baskets", status_code=201, tags=["Baskets"], summary="Create a basket")
def create_basket(basket: BasketCreate) -> Basket:
    created = configuration().baskets.create(caller_id(router), basket, caller_name(router))
    metrics.add_metric(name="BasketsCreated", unit=MetricUnit.Count, value=1)
    return created


@router.get(
    "/options/baskets/<basket_id>", tags=["Baskets"], summary="A basket with its strategies"
)
def get_basket(basket_id: Id) -> BasketDetail:
    basket, strategies = configuration().baskets.get(caller_id(router), basket_id)
    return BasketDetail(**basket.model_dump(), strategies=strategies)


@router.put(
    "/options/baskets/<basket_id>",
    tags=["Baskets"],
    summary="Change a basket (fields sent are changed)",
)
def update_basket(basket_id: Id, changes: BasketUpdate) -> Basket:
    return configuration().baskets.update(caller_id(router), basket_id, changes)


@router.delete(
    "/options/baskets/<basket_id>",
    status_code=204,
    tags=["Baskets"],
    summary="Delete a basket with no active strategies",
)
def delete_basket(basket_id: Id):  # type: ignore[no-untyped-def]  # Powertools documents a return annotation as the body; a delete has none
    configuration().baskets.delete(caller_id(router), basket_id)
    return no_content()


app, lambda_handler = api_function(router, publish_metrics=True)
