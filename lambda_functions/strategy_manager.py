"""Strategies and their legs: what to trade, when to enter and exit, how each leg picks its strike."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.api import (
    DIGITS,
    MAX_ID_LENGTH,
    Id,
    Limit,
    NextToken,
    api_function,
    caller_id,
    no_content,
)
from lambda_functions.composition import configuration
from lambda_functions.observability import metrics
from shared_utils.domain.models import (
    ItemList,
    Leg,
    LegsCreate,
    LegUpdate,
    Strategy,
    StrategyCreate,
    StrategyDetail,
    StrategyUpdate,
)

router = Router()
LegNumber = Annotated[int, Path(ge=1, le=6, description="The leg number, 1 to 6"), DIGITS]


@router.get(
    "/options/strategies",
    tags=["Strategies"],
    summary="The caller's strategies, optionally of one basket",
)
def list_strategies(
    basket_id: Annotated[
        str | None, Query(max_length=MAX_ID_LENGTH, description="Only this basket's strategies")
    ] = None,
    limit: Limit = None,
    next_token: NextToken = None,
) -> ItemList[Strategy]:
    strategies, token = configuration().strategies.page(
        caller_id(router), basket_id, limit, next_token
    )
    return ItemList[Strategy](items=strategies, next_token=token)


@router.post(
    "/options/strategies",
    status_code=201,
    tags=["Strategies"],
    summary="Create a standalone strategy",
)
def create_strategy(strategy: StrategyCreate) -> Strategy:
    return _created(configuration().strategies.create(caller_id(router), strategy))


@router.post(
    "/options/baskets/<basket_id>/strategies",
    status_code=201,
    tags=["Strategies"],
    summary="Create a strategy in a basket",
)
def create_strategy_in_basket(basket_id: Id, strategy: StrategyCreate) -> Strategy:
    return _created(configuration().strategies.create(caller_id(router), strategy, basket_id))


@router.get(
    "/options/strategies/<strategy_id>",
    tags=["Strategies"],
    summary="A strategy with its legs and allocations",
)
def get_strategy(strategy_id: Id) -> StrategyDetail:
    aggregate = configuration().strategies.get(caller_id(router), strategy_id)
    return StrategyDetail(
        **aggregate.strategy.model_dump(),
        legs=[leg for _, leg in sorted(aggregate.legs.items())],
        allocations=sorted(aggregate.allocations.values(), key=lambda a: (a.priority, a.client_id)),
    )


@router.put(
    "/options/strategies/<strategy_id>",
    tags=["Strategies"],
    summary="Change a strategy (fields sent are changed)",
)
def update_strategy(strategy_id: Id, changes: StrategyUpdate) -> Strategy:
    return configuration().strategies.update(caller_id(router), strategy_id, changes)


@router.delete(
    "/options/strategies/<strategy_id>",
    status_code=204,
    tags=["Strategies"],
    summary="Delete a strategy, its legs, allocations and schedule",
)
def delete_strategy(strategy_id: Id):  # type: ignore[no-untyped-def]  # Powertools documents a return annotation as the body; a delete has none
    configuration().strategies.delete(caller_id(router), strategy_id)
    return no_content()


@router.get("/options/strategies/<strategy_id>/legs", tags=["Legs"], summary="A strategy's legs")
def list_legs(strategy_id: Id) -> ItemList[Leg]:
    return ItemList[Leg](items=configuration().legs.of_strategy(caller_id(router), strategy_id))


@router.post(
    "/options/strategies/<strategy_id>/legs",
    status_code=201,
    tags=["Legs"],
    summary="Add legs (all or none)",
)
def add_legs(strategy_id: Id, body: LegsCreate) -> ItemList[Leg]:
    legs = configuration().legs.add(caller_id(router), strategy_id, body.legs)
    metrics.add_metric(name="LegsCreated", unit=MetricUnit.Count, value=len(legs))
    return ItemList[Leg](items=legs)


@router.put(
    "/options/strategies/<strategy_id>/legs/<leg_no>",
    tags=["Legs"],
    summary="Change a leg (fields sent are changed)",
)
def update_leg(strategy_id: Id, leg_no: LegNumber, changes: LegUpdate) -> Leg:
    return configuration().legs.update(caller_id(router), strategy_id, leg_no, changes)


@router.delete(
    "/options/strategies/<strategy_id>/legs/<leg_no>",
    status_code=204,
    tags=["Legs"],
    summary="Delete a leg",
)
def delete_leg(strategy_id: Id, leg_no: LegNumber):  # type: ignore[no-untyped-def]  # Powertools documents a return annotation as the body; a delete has none
    configuration().legs.delete(caller_id(router), strategy_id, leg_no)
    return no_content()


def _created(strategy: Strategy) -> Strategy:
    metrics.add_metric(name="StrategiesCreated", unit=MetricUnit.Count, value=1)
    return strategy


app, lambda_handler = api_function(router, publish_metrics=True)
