"""Broker allocations: which account trades which legs of a strategy, with how many lots."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from lambda_functions.api import Id, api_function, caller_id, no_content
from lambda_functions.composition import configuration
from lambda_functions.observability import metrics
from shared_utils.domain.models import (
    AdvancedAllocationsRequest,
    Allocation,
    AllocationInput,
    AllocationUpdate,
    ItemList,
)

router = Router()


@router.get(
    "/options/strategies/<strategy_id>/allocations",
    tags=["Allocations"],
    summary="A strategy's broker allocations",
)
def list_allocations(strategy_id: Id) -> ItemList[Allocation]:
    return ItemList[Allocation](
        items=configuration().allocations.of_strategy(caller_id(router), strategy_id)
    )


@router.post(
    "/options/strategies/<strategy_id>/allocations",
    status_code=201,
    tags=["Allocations"],
    summary="Allocate the strategy to one account (strategy level: every leg x strategy_lots_multiplier)",
)
def create_allocation(strategy_id: Id, allocation: AllocationInput) -> Allocation:
    created = configuration().allocations.create(
        caller_id(router), strategy_id, [allocation], field_prefix=""
    )
    metrics.add_metric(name="AllocationsCreated", unit=MetricUnit.Count, value=1)
    return created[0]


@router.post(
    "/options/strategies/<strategy_id>/allocations/advanced",
    status_code=201,
    tags=["Allocations"],
    summary="Allocate legs to accounts with lots per leg (all or none)",
)
def create_advanced_allocations(
    strategy_id: Id, body: AdvancedAllocationsRequest
) -> ItemList[Allocation]:
    created = configuration().allocations.create(caller_id(router), strategy_id, body.allocations)
    metrics.add_metric(name="AllocationsCreated", unit=MetricUnit.Count, value=len(created))
    return ItemList[Allocation](items=created)


@router.get(
    "/options/strategies/<strategy_id>/allocations/summary",
    tags=["Allocations"],
    summary="Lots per account and per leg",
)
def allocation_summary(strategy_id: Id) -> dict:
    return configuration().allocations.summary(caller_id(router), strategy_id)


@router.put(
    "/options/strategies/<strategy_id>/allocations/<client_id>",
    tags=["Allocations"],
    summary="Change an allocation",
)
def update_allocation(strategy_id: Id, client_id: Id, changes: AllocationUpdate) -> Allocation:
    return configuration().allocations.update(caller_id(router), strategy_id, client_id, changes)


@router.delete(
    "/options/strategies/<strategy_id>/allocations/<client_id>",
    status_code=204,
    tags=["Allocations"],
    summary="Remove an allocation",
)
def delete_allocation(strategy_id: Id, client_id: Id):  # type: ignore[no-untyped-def]  # Powertools documents a return annotation as the body; a delete has none
    configuration().allocations.delete(caller_id(router), strategy_id, client_id)
    return no_content()


app, lambda_handler = api_function(router, publish_metrics=True)
