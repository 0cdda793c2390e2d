"""A LIVE account through the registry: nothing is sent, and its orders say why."""

from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.brokers.registry import BrokerRegistry
from shared_utils.domain.clock import FixedClock
from shared_utils.domain.enums import AccountMode
from tests.integration.test_schedule_trigger import iron_condor
from tests.integration.test_strategy_executor import (
    CALENDAR,
    CATALOG,
    MARKET,
    MONDAY_0930,
    executor,
    paper_book,
    run,
    scheduled,
)


def test_a_live_account_is_refused_and_its_orders_are_failed_while_paper_trades(
    service, repository
):
    iron_condor(service, "sub-alice")
    clock = FixedClock(MONDAY_0930)
    registry = BrokerRegistry()
    registry.register_paper(
        lambda user_id, client_id: PaperBroker(
            repository, MARKET, CATALOG, CALENDAR, clock, user_id, client_id
        )
    )

    def broker_for(user_id, client_id, broker, mode):
        live = AccountMode.LIVE if client_id == "ANGELONE456" else mode
        return registry.broker_for(user_id, client_id, broker, live)

    result = run(executor(repository, clock, broker_for), scheduled(repository, MONDAY_0930))
    assert (result["status"], result["successful_orders"], result["failed_orders"]) == (
        "PARTIAL",
        4,
        4,
    )
    assert {(f["status"], f["reason"]) for f in result["failures"]} == {
        (
            "FAILED",
            "ANGELONE456 is a LIVE ANGELONE account; live order placement has no broker adapter yet",
        )
    }
    assert paper_book(repository, clock, "ANGELONE456").order_book() == []
    assert len(paper_book(repository, clock, "ZERODHA123").order_book()) == 4
