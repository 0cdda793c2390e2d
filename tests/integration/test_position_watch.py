"""The minute-by-minute watch over open positions: stop losses, the intraday square-off, the daily
loss limit and settlement, each closing on the account that holds the position, once."""

import dataclasses
from datetime import datetime
from decimal import Decimal

from shared_utils.adapters.aws.execution_workflow import report_payload
from shared_utils.adapters.brokers.paper.broker import PaperBroker
from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.adapters.dynamodb.positions import PositionTable
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.models import AllocationUpdate, LegUpdate, RiskLimits, StrategyUpdate
from shared_utils.engine.position_watch import PositionWatch, breached, stop_level
from shared_utils.engine.queries import ExecutionQueries
from shared_utils.engine.records import Position
from tests.integration.test_schedule_trigger import iron_condor, spoil
from tests.integration.test_strategy_executor import (
    CALENDAR,
    CATALOG,
    MARKET,
    MONDAY_0930,
    executor_on,
    run,
    scheduled,
)

ACCOUNTS = ("ZERODHA123", "ANGELONE456")


class Shocked:
    """The simulated market, with one option type's premiums multiplied from a moment on."""

    def __init__(self, base, option_type, factor, from_moment):
        self.base, self.option_type, self.factor, self.from_moment = (
            base,
            option_type,
            Decimal(factor),
            from_moment,
        )

    def _shock(self, quote, at):
        if quote.option_type != self.option_type or at < self.from_moment:
            return quote
        return dataclasses.replace(
            quote,
            bid=quote.bid * self.factor,
            ask=quote.ask * self.factor,
            last=quote.last * self.factor,
        )

    def spot(self, underlying, at):
        return self.base.spot(underlying, at)

    def quote(self, underlying, expiry, strike, option_type, at):
        return self._shock(self.base.quote(underlying, expiry, strike, option_type, at), at)

    def chain(self, underlying, expiry, at):
        chain = self.base.chain(underlying, expiry, at)
        return dataclasses.replace(chain, quotes=tuple(self._shock(q, at) for q in chain.quotes))


def engine(repository, clock, market=MARKET):
    def paper(user_id, client_id, broker, mode):
        return PaperBroker(repository, market, CATALOG, CALENDAR, clock, user_id, client_id)

    executor = executor_on(repository, market, clock, paper)
    stores = engine_tables(repository, clock)
    return executor, PositionWatch(
        stores.positions, stores.executions, executor, market, CALENDAR, clock
    )


def reported(result):
    """The watch's result as the Check Stop Loss handler returns it."""
    return result.as_dict(report_payload)["executions"]


class Book(PositionTable):
    """The position store, read as the items' attributes (what these tests compare)."""

    def held_items(self, user_id, strategy_id=None, client_id=None):
        return [p.model_dump() for p in self.held(user_id, strategy_id, client_id).records]

    def open_items(self):
        return [p.model_dump() for p in self.open_everywhere().records]


A_POSITION = {
    "user_id": "sub-alice",
    "strategy_id": "s1",
    "client_id": "ZERODHA123",
    "leg_no": 1,
    "tradingsymbol": "NIFTY2631025000PE",
    "broker": "ZERODHA",
    "underlying": "NIFTY",
    "expiry": "2026-03-10",
    "expiry_type": "WEEKLY",
    "strike": Decimal(25000),
    "option_type": "PUT",
    "lot_size": 65,
    "realised_pnl": Decimal(0),
    "realised_today": Decimal(0),
    "realised_on": "2026-03-02",
    "trade_realised": Decimal(0),
    "updated_at": "2026-03-02T04:00:00.000Z",
    "version": 1,
}


def holding(fields):
    """A position holding what `fields` say (the rest is any contract)."""
    return Position.model_validate({**A_POSITION, **fields})


def book(repository, clock=None):
    return Book(repository, clock)


def queries_on(repository, clock, executor=None):
    stores = engine_tables(repository, clock)
    return ExecutionQueries(
        stores.executions,
        stores.orders,
        stores.positions,
        stores.schedule,
        clock,
        MARKET,
        executor,
    )


def entered(service, repository, **strategy_changes):
    strategy_id = iron_condor(service, "sub-alice")
    for leg_no in (1, 2, 3, 4):  # next week's contracts: still trading all week
        service.legs.update("sub-alice", strategy_id, leg_no, LegUpdate(expiry_offset=1))
    if strategy_changes:
        service.strategies.update("sub-alice", strategy_id, StrategyUpdate(**strategy_changes))
    executor, _ = engine(repository, FixedClock(MONDAY_0930))
    assert run(executor, scheduled(repository, MONDAY_0930))["status"] == "COMPLETED"
    return strategy_id


def held(repository, strategy_id):
    return {
        (p["client_id"], int(p["leg_no"])): int(p["quantity"])
        for p in book(repository).held_items("sub-alice", strategy_id)
    }


def test_an_entry_opens_one_position_per_leg_and_account_each_in_the_open_index(
    service, repository
):
    strategy_id = entered(service, repository)
    # The spec's lots: Zerodha 3/3/1/1, Angel One 1/1/4/4, 65 units a lot; shorts negative.
    assert held(repository, strategy_id) == {
        ("ZERODHA123", 1): -195,
        ("ZERODHA123", 2): 195,
        ("ZERODHA123", 3): -65,
        ("ZERODHA123", 4): 65,
        ("ANGELONE456", 1): -65,
        ("ANGELONE456", 2): 65,
        ("ANGELONE456", 3): -260,
        ("ANGELONE456", 4): 260,
    }
    watched = book(repository).open_items()
    assert len(watched) == 8
    assert {p["stop_loss"] for p in watched} == {50, 25}


def test_a_breached_stop_loss_closes_that_leg_on_each_account_once(service, repository):
    strategy_id = entered(service, repository)
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    calls_jump = Shocked(MARKET, "CALL", 4, at)
    _, watch = engine(repository, FixedClock(at), calls_jump)
    result = watch.run()
    # The short calls (leg 3, 50 points) stop out; the long calls only gained; the puts did not move.
    prefixes = [f"EXECUTION_STOP_LOSS#{strategy_id}#20260302#{a}#03#" for a in sorted(ACCOUNTS)]
    assert [key[:-8] for key in sorted(result.stop_losses)] == prefixes
    assert all(e["status"] == "COMPLETED" for e in reported(result))
    positions = held(repository, strategy_id)
    assert positions[("ZERODHA123", 3)] == 0
    assert positions[("ANGELONE456", 3)] == 0
    assert positions[("ZERODHA123", 4)] == 65
    assert positions[("ANGELONE456", 1)] == -65
    # Seen again a minute later: nothing more is sent.
    again = engine(repository, FixedClock(at.replace(minute=1)), calls_jump)[1].run()
    assert again.stop_losses == []
    assert again.executions == []
    queries = queries_on(repository, FixedClock(at))
    stop_orders = [
        o
        for o in queries.orders("sub-alice", strategy_id, None, None)
        if o["execution_type"] == "STOP_LOSS"
    ]
    assert sorted((o["client_id"], o["transaction_type"], o["quantity"]) for o in stop_orders) == [
        ("ANGELONE456", "BUY", 260),
        ("ZERODHA123", "BUY", 65),
    ]
    history = queries.history("sub-alice", strategy_id, None, None).records
    assert sum(1 for h in history if h["execution_type"] == "STOP_LOSS") == 2


def test_stop_levels_are_points_by_default_and_percent_where_the_leg_says_so():
    short = {"quantity": -65, "average_price": Decimal("100"), "stop_loss": Decimal("50")}
    assert stop_level(holding(short)) == 150
    assert breached(holding(short), Decimal("150"))
    assert not breached(holding(short), Decimal("149.95"))
    assert stop_level(holding({**short, "stop_loss_type": "PERCENT"})) == 150
    assert (
        stop_level(holding({**short, "stop_loss_type": "PERCENT", "stop_loss": Decimal("20")}))
        == 120
    )
    long = {"quantity": 65, "average_price": Decimal("40"), "stop_loss": Decimal("25")}
    assert stop_level(holding(long)) == 15
    assert breached(holding(long), Decimal("15"))
    assert not breached(holding(long), Decimal("16"))
    assert stop_level(holding({**short, "stop_loss": None})) is None
    assert not breached(holding({**short, "stop_loss": None}), Decimal("1000"))


def test_an_intraday_strategy_is_squared_off_at_1520_even_when_its_exit_did_not_run(
    service, repository
):
    strategy_id = entered(service, repository, product="MIS", exit_days=["MONDAY"])
    before = engine(repository, FixedClock(datetime(2026, 3, 2, 15, 19, tzinfo=IST)))[1].run()
    assert before.square_offs == []
    assert before.positions_watched == 8
    at = datetime(2026, 3, 2, 15, 20, tzinfo=IST)
    result = engine(repository, FixedClock(at))[1].run()
    assert result.square_offs == [f"EXECUTION_EXIT#{strategy_id}#20260302#SQUARE_OFF"]
    assert set(held(repository, strategy_id).values()) == {0}
    assert book(repository).open_items() == []
    # An intraday strategy is not entered after its square-off time.
    late = datetime(2026, 3, 2, 15, 21, tzinfo=IST)
    executor, _ = engine(repository, FixedClock(late))
    late_run = report_payload(
        queries_on(repository, FixedClock(late), executor).run_now(
            "sub-alice", strategy_id, "entry", force=True
        )
    )
    assert late_run["status"] == "FAILED"
    assert "square-off time 15:20" in late_run["failures"][0]["reason"]


def test_the_daily_loss_limit_closes_everything_on_that_account_only(service, repository):
    strategy_id = iron_condor(service, "sub-alice")
    for leg_no in (1, 2, 3, 4):
        service.legs.update(
            "sub-alice", strategy_id, leg_no, LegUpdate(expiry_offset=1, stop_loss=None)
        )
    service.allocations.update(
        "sub-alice",
        strategy_id,
        "ANGELONE456",
        AllocationUpdate(risk_limits=RiskLimits(max_daily_loss=5000)),
    )
    run(engine(repository, FixedClock(MONDAY_0930))[0], scheduled(repository, MONDAY_0930))
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    result = engine(repository, FixedClock(at), Shocked(MARKET, "CALL", 3, at))[1].run()
    assert result.daily_loss_exits == [
        f"EXECUTION_STOP_LOSS#{strategy_id}#20260302#ANGELONE456#DAILY_LOSS"
    ]
    assert result.stop_losses == []  # no leg has a stop loss any more
    positions = held(repository, strategy_id)
    assert {q for (account, _), q in positions.items() if account == "ANGELONE456"} == {0}
    assert all(q != 0 for (account, _), q in positions.items() if account == "ZERODHA123")
    (execution,) = reported(result)
    assert execution["successful_orders"] == 4


def test_a_position_being_closed_by_one_execution_is_not_closed_by_another(service, repository):
    strategy_id = entered(service, repository)
    positions = PositionTable(repository, FixedClock(MONDAY_0930))
    (short_call,) = [
        p
        for p in positions.held("sub-alice", strategy_id, "ZERODHA123").records
        if int(p.leg_no) == 3
    ]
    assert positions.claim(short_call, "EXECUTION_STOP_LOSS#elsewhere")
    friday = datetime(2026, 3, 6, 15, 20, 0, 400000, tzinfo=IST)
    result = run(engine(repository, FixedClock(friday))[0], scheduled(repository, friday))
    assert result["successful_orders"] == 7
    assert result["skipped"] == [
        {
            "client_id": "ZERODHA123",
            "leg_no": 3,
            "reason": "already being closed by another execution",
        }
    ]
    assert held(repository, strategy_id)[("ZERODHA123", 3)] == -65
    # The watch leaves it to the execution that claimed it, too.
    assert (
        engine(repository, FixedClock(friday.replace(minute=21)))[1].run().left_to_other_closes == 1
    )


def test_a_stop_that_found_its_position_claimed_by_a_close_that_then_failed_is_made_again(
    service, repository
):
    strategy_id = entered(service, repository)
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    calls_jump = Shocked(MARKET, "CALL", 4, at)
    book = PositionTable(repository, FixedClock(at))
    short_calls = [p for p in book.held("sub-alice", strategy_id).records if int(p.leg_no) == 3]
    watch = engine(repository, FixedClock(at), calls_jump)[1]
    original = watch.positions.open_everywhere

    def read_then_another_close_claims():
        positions = original()
        for position in short_calls:
            assert book.claim(position, "EXECUTION_EXIT#other")
        return positions

    watch.positions.open_everywhere = read_then_another_close_claims
    first = reported(watch.run())
    assert first
    assert all(e["successful_orders"] == 0 and e["skipped"] for e in first)
    for position in short_calls:  # ... and then fails, giving its claims back
        book.release(position, "EXECUTION_EXIT#other")
    second = reported(engine(repository, FixedClock(at.replace(minute=1)), calls_jump)[1].run())
    assert sorted(e["status"] for e in second) == ["COMPLETED", "COMPLETED"]
    assert all(e["successful_orders"] == 1 for e in second)
    assert held(repository, strategy_id)[("ZERODHA123", 3)] == 0


def test_one_position_the_market_cannot_price_does_not_stop_the_watch(service, repository):
    strategy_id = entered(service, repository)
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)

    class PutsUnavailable(Shocked):
        def chain(self, underlying, expiry, at):
            raise TimeoutError("the market data provider timed out")

        def quote(self, underlying, expiry, strike, option_type, at):
            if option_type == "PUT":
                raise TimeoutError("no quote")
            return super().quote(underlying, expiry, strike, option_type, at)

    result = engine(repository, FixedClock(at), PutsUnavailable(MARKET, "CALL", 4, at))[1].run()
    assert len(result.errors) == 4
    assert all("TimeoutError" in e for e in result.errors)
    assert len(result.stop_losses) == 2  # the calls were still watched and stopped
    assert held(repository, strategy_id)[("ANGELONE456", 3)] == 0


def test_one_position_that_does_not_read_does_not_stop_the_watch(service, repository):
    strategy_id = entered(service, repository)
    (short_put,) = [
        p
        for p in book(repository).held("sub-alice", strategy_id, "ZERODHA123").records
        if p.leg_no == 1
    ]
    spoil(repository, "sub-alice", short_put.key, lambda item: item.update(expiry_type="YEARLY"))
    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    result = engine(repository, FixedClock(at), Shocked(MARKET, "CALL", 4, at))[1].run()
    # As before the positions were typed: all 8 watched, both short calls stopped out ...
    assert result.positions_watched == 8
    prefixes = [f"EXECUTION_STOP_LOSS#{strategy_id}#20260302#{a}#03#" for a in sorted(ACCOUNTS)]
    assert [key[:-8] for key in sorted(result.stop_losses)] == prefixes
    assert all(e["status"] == "COMPLETED" for e in reported(result))
    # ... and the one that does not read is named in the result, with the daily loss of its
    # account, which cannot be known without it.
    unreadable = f"sub-alice {short_put.key}: unreadable: expiry_type: "
    first, second = result.errors
    assert first.startswith(unreadable)
    assert second.startswith(f"daily loss of ZERODHA123: {unreadable}")


def test_an_expired_contract_is_settled_at_its_intrinsic_value_and_counted(service, repository):
    strategy_id = iron_condor(
        service, "sub-alice"
    )  # the spec's weekly: it expired on Monday 2 March
    run(engine(repository, FixedClock(MONDAY_0930))[0], scheduled(repository, MONDAY_0930))
    result = engine(repository, FixedClock(datetime(2026, 3, 4, 10, 0, tzinfo=IST)))[1].run()
    assert len(result.settled) == 8
    assert result.executions == []
    assert set(held(repository, strategy_id).values()) == {0}
    metrics = service.strategies.get("sub-alice", strategy_id).strategy.performance_metrics
    assert metrics["closed_positions"] == 8
    assert metrics["total_executions"] == 1
    realised = sum(
        Decimal(str(p["realised_pnl"]))
        for p in book(repository).held_items("sub-alice", strategy_id)
    )
    assert metrics["total_pnl"] == realised


def test_the_watch_does_nothing_while_the_market_is_closed(service, repository):
    entered(service, repository)
    result = engine(repository, FixedClock(datetime(2026, 3, 2, 16, 0, tzinfo=IST)))[1].run()
    assert result.positions_watched == 0
    assert result.executions == []


def test_metrics_count_each_execution_once_and_survive_configuration_writes(service, repository):
    strategy_id = entered(service, repository)
    service.strategies.update(
        "sub-alice", strategy_id, StrategyUpdate(description="still an iron condor")
    )
    friday = datetime(2026, 3, 6, 15, 20, 0, 400000, tzinfo=IST)
    executor, _ = engine(repository, FixedClock(friday))
    exit_ref = scheduled(repository, friday)
    run(executor, exit_ref)
    assert run(executor, exit_ref)["status"] == "ALREADY_CLAIMED"  # counted once
    aggregate = service.strategies.get("sub-alice", strategy_id)
    metrics = aggregate.strategy.performance_metrics
    assert (
        metrics["total_executions"],
        metrics["successful_executions"],
        metrics["success_rate"],
    ) == (2, 2, 100)
    assert metrics["closed_positions"] == 8
    positions = book(repository).held_items("sub-alice", strategy_id)
    assert metrics["total_pnl"] == sum(Decimal(str(p["realised_pnl"])) for p in positions)
    zerodha = aggregate.allocations["ZERODHA123"].performance_metrics
    assert zerodha["total_trades_executed"] == 8
    assert zerodha["success_rate"] == 100
    assert zerodha["total_pnl"] == sum(
        Decimal(str(p["realised_pnl"])) for p in positions if p["client_id"] == "ZERODHA123"
    )
    assert (
        repository.get("sub-alice", keys.strategy(strategy_id))["performance_metrics"][
            "total_executions"
        ]
        == 0
    )


# The POSITION items the code before the typed records stored for the journey's entry and the
# short calls' stop loss (read from the table, not through the adapter, so that a mapping bug the
# same both ways cannot hide): (quantity, average_price, realised_pnl) by account and leg.
STORED_AT_ENTRY = {
    ("ZERODHA123", 1): ("-195", "55.95", "0"),
    ("ZERODHA123", 2): ("195", "26.60", "0"),
    ("ZERODHA123", 3): ("-65", "50.00", "0"),
    ("ZERODHA123", 4): ("65", "22.60", "0"),
    ("ANGELONE456", 1): ("-65", "55.95", "0"),
    ("ANGELONE456", 2): ("65", "26.60", "0"),
    ("ANGELONE456", 3): ("-260", "50.00", "0"),
    ("ANGELONE456", 4): ("260", "22.60", "0"),
}
STOPPED = {
    ("ZERODHA123", 3): ("0", "131.80", "-5317.00"),
    ("ANGELONE456", 3): ("0", "131.80", "-21268.00"),
}
STORED_ATTRIBUTES = {
    "user_id", "sort_key", "entity_type", "strategy_id", "client_id", "broker", "leg_no",
    "underlying", "expiry", "expiry_type", "strike", "option_type", "lot_size", "tradingsymbol",
    "quantity", "average_price", "realised_pnl", "realised_today", "realised_on",
    "trade_realised", "updated_at", "version", "product", "mode", "stop_loss", "stop_loss_type",
    "max_daily_loss", "opened_at", "opened_by",
}  # fmt: skip
OPEN_INDEX = {"GSI2PK", "GSI2SK"}


def stored_positions(repository):
    items, _ = repository.query_prefix("sub-alice", keys.all_positions())
    return {(item["client_id"], int(item["leg_no"])): item for item in items}


def test_the_stored_position_items_are_those_the_code_before_stored(service, repository):
    strategy_id = entered(service, repository)
    opened = stored_positions(repository)
    assert {
        where: (str(i["quantity"]), str(i["average_price"]), str(i["realised_pnl"]))
        for where, i in opened.items()
    } == STORED_AT_ENTRY
    for item in opened.values():
        assert set(item) == STORED_ATTRIBUTES | OPEN_INDEX
        assert (item["entity_type"], item["version"], item["realised_on"]) == (
            "POSITION",
            1,
            "2026-03-02",
        )
        assert item["opened_by"] == f"EXECUTION_ENTRY#{strategy_id}#20260302"
        assert item["GSI2PK"].startswith("OPEN_POSITIONS#")
        assert item["GSI2SK"] == f"sub-alice#{item['sort_key']}"

    at = datetime(2026, 3, 2, 11, 0, tzinfo=IST)
    engine(repository, FixedClock(at), Shocked(MARKET, "CALL", 4, at))[1].run()
    after = stored_positions(repository)
    assert {
        where: (str(i["quantity"]), str(i["average_price"]), str(i["realised_pnl"]))
        for where, i in after.items()
    } == {**STORED_AT_ENTRY, **STOPPED}
    for where, item in after.items():
        if where in STOPPED:  # flat: out of the open index, the close's claim gone with it
            assert set(item) == STORED_ATTRIBUTES
            assert str(item["realised_today"]) == str(item["trade_realised"]) == STOPPED[where][2]
            assert (item["version"], item["updated_at"]) == (3, "2026-03-02T05:30:00.000Z")
        else:  # untouched by the stop loss
            assert item == opened[where]
    assert all("closing_by" not in item and "closing_since" not in item for item in after.values())
