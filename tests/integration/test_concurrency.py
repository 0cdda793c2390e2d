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
    created = service.create_strategy("u1", StrategyCreate.model_validate(STRATEGY))
    service.add_legs("u1", created.strategy_id, LegsCreate.model_validate(LEGS).legs)
    return created.strategy_id


def test_a_change_computed_from_a_stale_read_is_refused_whole(service, strategy_id, dynamodb):
    stale = service.get_strategy("u1", strategy_id)
    service.update_leg("u1", strategy_id, 1, LegUpdate(lots=4))
    before = all_items(dynamodb)
    # A second request that read before the first one committed now tries to commit its change.
    with pytest.raises(Conflict, match="changed by another request"):
        service._commit(
            "u1", stale, strategy=stale.strategy.model_copy(update={"entry_time": "10:00"})
        )
    assert all_items(dynamodb) == before


def test_the_loser_of_two_racing_allocations_changes_nothing(service, strategy_id, dynamodb):
    for client_id in ("ZERODHA123", "ANGELONE456"):
        service.create_broker_account(
            "u1", BrokerAccountCreate(client_id=client_id, broker="PAPER")
        )
    stale = service.get_strategy("u1", strategy_id)
    service.create_allocations("u1", strategy_id, [AllocationInput(client_id="ZERODHA123")])
    before = all_items(dynamodb)
    allocation = (
        service.get_strategy("u1", strategy_id)
        .allocations["ZERODHA123"]
        .model_copy(update={"client_id": "ANGELONE456"})
    )
    with pytest.raises(Conflict):
        service._commit(
            "u1", stale, allocations={"ANGELONE456": allocation}, new_allocations={"ANGELONE456"}
        )
    assert all_items(dynamodb) == before


def test_versions_count_every_change(service, strategy_id):
    assert service.get_strategy("u1", strategy_id).strategy.version == 2  # created, then legs added
    updated = service.update_strategy(
        "u1", strategy_id, StrategyUpdate(description="tuned", version=2)
    )
    assert updated.version == 3
    with pytest.raises(Conflict):
        service.update_strategy("u1", strategy_id, StrategyUpdate(description="again", version=2))
