"""Two changes to one strategy cannot both win: every change is conditional on the version it read."""

import pytest

from shared_utils.domain.errors import Conflict
from shared_utils.domain.models import (
    AllocationInput,
    BrokerAccountCreate,
    LegsCreate,
    LegUpdate,
    StrategyCreate,
    StrategyUpdate,
)
from tests.conftest import all_items
from tests.journey import LEGS, STRATEGY


@pytest.fixture
def strategy_id(service):
    created = service.strategies.create("u1", StrategyCreate.model_validate(STRATEGY))
    service.legs.add("u1", created.strategy_id, LegsCreate.model_validate(LEGS).legs)
    return created.strategy_id


def test_a_change_computed_from_a_stale_read_is_refused_whole(service, strategy_id, dynamodb):
    stale = service.strategies.get("u1", strategy_id)
    service.legs.update("u1", strategy_id, 1, LegUpdate(lots=4))
    before = all_items(dynamodb)
    # A second request that read before the first one committed now tries to commit its change.
    with pytest.raises(Conflict, match="changed by another request"):
        service.aggregates.commit(
            "u1", stale, strategy=stale.strategy.model_copy(update={"entry_time": "10:00"})
        )
    assert all_items(dynamodb) == before


def test_the_loser_of_two_racing_allocations_changes_nothing(service, strategy_id, dynamodb):
    for client_id in ("ZERODHA123", "ANGELONE456"):
        service.broker_accounts.register(
            "u1", BrokerAccountCreate(client_id=client_id, broker="PAPER")
        )
    stale = service.strategies.get("u1", strategy_id)
    service.allocations.create("u1", strategy_id, [AllocationInput(client_id="ZERODHA123")])
    before = all_items(dynamodb)
    allocation = (
        service.strategies.get("u1", strategy_id)
        .allocations["ZERODHA123"]
        .model_copy(update={"client_id": "ANGELONE456"})
    )
    with pytest.raises(Conflict):
        service.aggregates.commit(
            "u1", stale, allocations={"ANGELONE456": allocation}, new_allocations={"ANGELONE456"}
        )
    assert all_items(dynamodb) == before


def test_versions_count_every_change(service, strategy_id):
    # Created, then legs added.
    assert service.strategies.get("u1", strategy_id).strategy.version == 2
    updated = service.strategies.update(
        "u1", strategy_id, StrategyUpdate(description="tuned", version=2)
    )
    assert updated.version == 3
    with pytest.raises(Conflict):
        service.strategies.update("u1", strategy_id, StrategyUpdate(description="again", version=2))
