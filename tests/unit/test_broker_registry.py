"""The broker registry: every broker's PAPER accounts trade on paper; a LIVE account is refused."""

import pytest

from shared_utils.adapters.brokers.registry import BrokerRegistry, LiveTradingUnavailable
from shared_utils.domain.enums import AccountMode, BrokerName


def test_paper_is_every_brokers_paper_mode_and_a_live_account_is_refused_with_its_reason():
    made = []
    registry = BrokerRegistry()
    registry.register_paper(lambda user_id, client_id: made.append((user_id, client_id)) or "paper")
    for broker in BrokerName:
        assert registry.broker_for("sub-alice", "ZERODHA123", broker, AccountMode.PAPER) == "paper"
    assert made == [("sub-alice", "ZERODHA123")] * len(BrokerName)
    with pytest.raises(LiveTradingUnavailable) as refused:
        registry.broker_for("sub-alice", "KITE2", BrokerName.ZERODHA, AccountMode.LIVE)
    assert str(refused.value) == (
        "KITE2 is a LIVE ZERODHA account; live order placement has no broker adapter yet"
    )


def test_a_registered_live_adapter_is_used_for_its_broker_only():
    registry = BrokerRegistry()
    registry.register(BrokerName.DHAN, AccountMode.LIVE, lambda user_id, client_id: "dhan")
    assert registry.broker_for("u", "D1", BrokerName.DHAN, AccountMode.LIVE) == "dhan"
    with pytest.raises(LiveTradingUnavailable):
        registry.broker_for("u", "Z1", BrokerName.ZERODHA, AccountMode.LIVE)
