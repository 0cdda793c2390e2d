"""--demo: a demo trader with the spec's user journey already set up, so a first run shows orders.

The Conservative Income basket, the Weekly Iron Condor NIFTY with its four legs, and the two
leg-level allocations on paper accounts ZERODHA123 and ANGELONE456 (data/journey.json), created
through the same configuration plane the API uses. On a restart with the same --data-dir it is found again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared_utils.adapters.dynamodb.configuration_store import DynamoConfigurationStore
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.configuration.plane import ConfigurationPlane
from shared_utils.domain.clock import Clock
from shared_utils.domain.models import (
    AdvancedAllocationsRequest,
    BasketCreate,
    BrokerAccountCreate,
    LegsCreate,
    StrategyCreate,
)

JOURNEY = json.loads((Path(__file__).parent / "data" / "journey.json").read_text())
USERNAME, PASSWORD = "demo", "Demo-trader-1"


def set_up_demo(
    cognito: Any, pool_id: str, dynamodb: Any, table_name: str, clock: Clock
) -> dict[str, str]:
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=USERNAME,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": "demo@example.com"}],
        )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=USERNAME, Password=PASSWORD, Permanent=True
        )
    except cognito.exceptions.UsernameExistsException:
        pass
    attributes = cognito.admin_get_user(UserPoolId=pool_id, Username=USERNAME)["UserAttributes"]
    user_id = next(a["Value"] for a in attributes if a["Name"] == "sub")
    plane = ConfigurationPlane.build(
        DynamoConfigurationStore(ConfigurationRepository(dynamodb, table_name)), clock
    )
    strategies, _ = plane.strategies.page(user_id)
    if any(s.strategy_name == JOURNEY["strategy"]["strategy_name"] for s in strategies):
        return {
            "username": USERNAME,
            "password": PASSWORD,
            "user_id": user_id,
            "created": "no (found from an earlier run)",
        }
    for account in JOURNEY["broker_accounts"]:
        plane.broker_accounts.register(user_id, BrokerAccountCreate(**account))
    basket = plane.baskets.create(user_id, BasketCreate(**JOURNEY["basket"]))
    strategy = plane.strategies.create(
        user_id,
        StrategyCreate.model_validate({**JOURNEY["strategy"], "basket_id": basket.basket_id}),
    )
    plane.legs.add(user_id, strategy.strategy_id, LegsCreate.model_validate(JOURNEY["legs"]).legs)
    plane.allocations.create(
        user_id,
        strategy.strategy_id,
        AdvancedAllocationsRequest.model_validate(JOURNEY["allocations"]).allocations,
    )
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "user_id": user_id,
        "created": "yes",
        "strategy_id": strategy.strategy_id,
    }
