"""Broker accounts: where allocations trade. An account cannot go while allocations trade on it."""

from __future__ import annotations

from shared_utils.configuration.conflicts import account_in_use
from shared_utils.configuration.store import ConfigurationStore
from shared_utils.domain.clock import Clock, utc_iso
from shared_utils.domain.errors import NotFound
from shared_utils.domain.models import BrokerAccount, BrokerAccountCreate


class BrokerAccounts:
    def __init__(self, store: ConfigurationStore, clock: Clock):
        self.store, self.clock = store, clock

    def page(
        self, user_id: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[list[BrokerAccount], str | None]:
        return self.store.broker_accounts(user_id, limit, next_token)

    def register(self, user_id: str, request: BrokerAccountCreate) -> BrokerAccount:
        now = utc_iso(self.clock.now())
        account = BrokerAccount(**request.model_dump(), created_at=now, updated_at=now, version=1)
        self.store.register_broker_account(user_id, account)
        return account

    def delete(self, user_id: str, client_id: str) -> None:
        allocations = self.store.allocations_trading_on(user_id, client_id)
        if allocations is None:
            raise NotFound(f"broker account {client_id} not found")
        if allocations:
            raise account_in_use(client_id)
        self.store.remove_broker_account(user_id, client_id)
