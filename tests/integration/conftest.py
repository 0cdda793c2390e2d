"""The API handlers against moto, reached through the same gateway front the local platform runs."""

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from lambda_functions import composition
from local_platform.api_gateway import LocalApiGateway
from local_platform.wiring import load
from tests.conftest import TABLE_NAME
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

# Collaborators the handlers build once per process; each test has its own moto table.
CACHED_FACTORIES = (
    composition.table,
    composition.configuration,
    composition.market,
    composition.engine,
    composition.executor,
    composition.execution_queries,
    composition.position_watch,
    composition.order_reconciliation,
)


class StubVerifier:
    """Stands in for the JWKS check (tested on its own): a token is a user's name."""

    USERS: ClassVar[dict[str, dict[str, str]]] = {
        "alice": {"sub": "sub-alice", "email": "alice@example.com"},
        "bob": {"sub": "sub-bob", "email": "bob@example.com"},
    }

    def claims(self, authorization):
        token = (authorization or "").removeprefix("Bearer ").strip()
        return self.USERS.get(token)


@dataclass
class Reply:
    status: int
    body: dict | None

    @property
    def error(self) -> dict:
        return self.body["error"]


class Api:
    def __init__(self, gateway: LocalApiGateway, user: str | None):
        self.gateway, self.user = gateway, user

    def call(
        self, method: str, path: str, body=None, raw: str | None = None, headers=None
    ) -> Reply:
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.user:
            headers["Authorization"] = f"Bearer {self.user}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        reply = self.gateway.handle(method, path, headers, payload)
        return Reply(reply.status, json.loads(reply.body) if reply.body else None)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None, raw=None, headers=None):
        return self.call("POST", path, body, raw, headers)

    def put(self, path, body):
        return self.call("PUT", path, body)

    def delete(self, path):
        return self.call("DELETE", path)


@pytest.fixture
def gateway(dynamodb, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("PLATFORM_CLOCK_START", "2026-03-02T09:25:00+05:30")
    monkeypatch.setenv("PLATFORM_CLOCK_SPEED", "1")
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    yield LocalApiGateway(load(), StubVerifier())
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


@pytest.fixture
def alice(gateway):
    return Api(gateway, "alice")


@pytest.fixture
def bob(gateway):
    return Api(gateway, "bob")


@pytest.fixture
def anonymous(gateway):
    return Api(gateway, None)


@pytest.fixture
def iron_condor(alice):
    """Journey 1 through step 4, as alice: returns (basket, strategy)."""
    for account in BROKER_ACCOUNTS:
        assert alice.post("/options/broker-accounts", account).status == 201
    basket = alice.post("/options/baskets", BASKET).body
    strategy = alice.post(f"/options/baskets/{basket['basket_id']}/strategies", STRATEGY).body
    assert alice.post(f"/options/strategies/{strategy['strategy_id']}/legs", LEGS).status == 201
    assert (
        alice.post(
            f"/options/strategies/{strategy['strategy_id']}/allocations/advanced", ALLOCATIONS
        ).status
        == 201
    )
    return basket, alice.get(f"/options/strategies/{strategy['strategy_id']}").body
