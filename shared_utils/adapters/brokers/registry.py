"""Which broker adapter trades an account: a map from (broker, mode) to a factory.

The engine asks for a broker through `BrokerRegistry.broker_for` and never names an adapter, so a
new broker (or the first LIVE adapter) is one `register` call in the composition root.
"""

from __future__ import annotations

from collections.abc import Callable

from shared_utils.domain.broker import Broker
from shared_utils.domain.enums import AccountMode, BrokerName

BrokerFactory = Callable[[str, str], Broker]
"""(user_id, client_id) -> the broker object for that one account."""


class LiveTradingUnavailable(RuntimeError):
    """The account's mode has no adapter for its broker (today: every LIVE account). Nothing is
    sent; the executor records the account's orders as FAILED with this message."""


class BrokerRegistry:
    def __init__(self) -> None:
        self._factories: dict[tuple[BrokerName, AccountMode], BrokerFactory] = {}

    def register(self, broker: BrokerName, mode: AccountMode, factory: BrokerFactory) -> None:
        self._factories[(broker, mode)] = factory

    def register_paper(self, factory: BrokerFactory) -> None:
        """Paper trading is every broker's PAPER mode: one simulated market serves them all."""
        for broker in BrokerName:
            self.register(broker, AccountMode.PAPER, factory)

    def broker_for(
        self, user_id: str, client_id: str, broker: BrokerName, mode: AccountMode
    ) -> Broker:
        factory = self._factories.get((broker, mode))
        if factory is not None:
            return factory(user_id, client_id)
        if mode == AccountMode.PAPER:
            raise LookupError(f"{client_id}: no paper broker is registered for {broker}")
        raise LiveTradingUnavailable(
            f"{client_id} is a {mode} {broker} account; live order placement has no broker adapter yet"
        )
