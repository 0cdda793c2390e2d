"""The strategy executor: one execution of one strategy, on every account its plan names.

1. Claim the execution (SCHEDULED -> IN_PROGRESS, conditional): a second executor, or a second
   workflow, finds it claimed and does nothing.
2. Entry: resolve each leg's expiry and strike from the market, plan the orders (entries,
   order_planning), or refuse the whole entry with its reason before any order exists (the market
   is closed, an expiry can no longer be worked, two legs collapsed onto one contract).
   Exit: close what the strategy's own filled orders hold, per account and contract, shorts first.
3. Per account, check the allocation's risk limits; orders that would break one are not sent and
   say why.
4. Record each order's intent (its deterministic tag) before sending it. If the intent is already
   there (a retry), or the broker times out, look the tag up in the broker's book instead of
   sending again.
5. Finish COMPLETED, PARTIAL or FAILED with the results; a failure on one account or leg does not
   stop the others. Every order that ends unplaced (REJECTED, FAILED) and every failure in the
   results carries a reason: the broker's message, or the platform's own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared_utils.configuration.schedule import ExecutionPlan, PlanLeg
from shared_utils.domain.broker import Broker, BrokerFor, BrokerOrder, OrderRequest
from shared_utils.domain.clock import Clock, ist_date, utc_iso
from shared_utils.domain.enums import (
    AccountMode,
    BrokerName,
    ExecutionStatus,
    ExecutionType,
    OrderStatus,
    OrderType,
    Product,
    Side,
    StopLossType,
)
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.domain.models import RiskLimits
from shared_utils.engine import performance
from shared_utils.engine.entries import EntryOrders, EntryRefused
from shared_utils.engine.order_planning import (
    PlannedOrder,
    limit_price,
    order_tag,
    slices,
)
from shared_utils.engine.ports import ExecutionStore, OrderStore, PositionLedger
from shared_utils.engine.positions import day_pnl, expired
from shared_utils.engine.records import (
    ExecutionRef,
    ExecutionReport,
    ExecutionResults,
    Found,
    OrderOutcome,
    OrderRecord,
    PlanningFailure,
    Position,
    SkippedClose,
    unplaced_reason,
)
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider
from shared_utils.market.expiries import Expiry, ExpiryCalendar

Failure = OrderOutcome | PlanningFailure


@dataclass(frozen=True)
class Account:
    """One account an execution trades on, and the terms its orders carry."""

    client_id: str
    broker: BrokerName
    mode: AccountMode
    product: Product | None  # the account's own product (a position's), else the plan's
    risk_limits: RiskLimits | None = None  # an entry's allocation limits; closes have none


@dataclass
class Progress:
    """What one execution has done so far."""

    outcomes: list[OrderOutcome]
    failures: list[Failure]
    skipped: list[SkippedClose]
    claimed: list[Position]


class StrategyExecutor:
    def __init__(
        self,
        executions: ExecutionStore,
        orders: OrderStore,
        positions: PositionLedger,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        expiries: ExpiryCalendar,
        clock: Clock,
        broker_for: BrokerFor,
    ):
        self.executions, self.orders, self.positions = executions, orders, positions
        self.market, self.catalog, self.expiries = market, catalog, expiries
        self.clock, self.broker_for = clock, broker_for
        self.risk = RiskCheck(orders, positions, market, clock)
        self.entry = EntryOrders(market, catalog, expiries, clock)
        self.closing = ClosingOrders(positions, market, catalog, clock, expiries.calendar)

    def execute(self, ref: ExecutionRef) -> ExecutionReport:
        if not self.executions.claim(ref, self.clock.now()):
            return ExecutionReport(status=ExecutionStatus.ALREADY_CLAIMED, key=ref.key)
        started = time.perf_counter()
        entering = ref.execution_type is ExecutionType.ENTRY
        done = Progress(outcomes=[], failures=[], skipped=[], claimed=[])
        plan: ExecutionPlan | None = None
        try:
            try:
                # Read after the claim and inside it: a record that no longer parses must still
                # finish FAILED with its reason, never stay IN_PROGRESS.
                plan = self._claimed_plan(ref)
                if entering:
                    orders = self.entry.orders(ref, plan)
                    accounts = {
                        a.client_id: Account(a.client_id, a.broker, a.mode, None, a.risk_limits)
                        for a in plan.allocations
                    }
                else:
                    orders, accounts = self.closing.orders(ref, plan, done)
            except EntryRefused as error:
                done.failures.append(
                    PlanningFailure(reason=f"entry refused, nothing was placed: {error}")
                )
                orders, accounts = [], {}
            except Exception as error:
                done.failures.append(
                    PlanningFailure(
                        reason=f"could not plan the orders: {type(error).__name__}: {error}"
                    )
                )
                orders, accounts = [], {}
            if plan is not None:
                for client_id, account_orders in _by_account(orders).items():
                    self._send(ref, plan, accounts[client_id], account_orders, entering, done)
        except Exception as error:
            # Never leave a claimed execution IN_PROGRESS: say what happened and how far it got.
            done.failures.append(
                PlanningFailure(
                    reason=f"stopped by an unexpected error: {type(error).__name__}: {error}"
                )
            )
        finally:
            self._release_unclosed(ref, done)
        return self._finish(ref, done, started)

    def _claimed_plan(self, ref: ExecutionRef) -> ExecutionPlan:
        record = self.executions.get(ref.user_id, ref.key)
        if record is None:
            raise LookupError(f"the execution record {ref.key} is gone")
        return record.plan

    def _send(
        self,
        ref: ExecutionRef,
        plan: ExecutionPlan,
        account: Account,
        orders: list[PlannedOrder],
        entering: bool,
        done: Progress,
    ) -> None:
        try:
            broker = self.broker_for(ref.user_id, account.client_id, account.broker, account.mode)
        except Exception as error:
            done.failures.extend(
                self._record(ref, plan, order, OrderStatus.FAILED, account, reason=_why(error))
                for order in orders
            )
            return
        # Risk limits guard what a trader adds; closing a position only ever reduces risk.
        refused = self.risk.refusal(ref, account, orders, broker) if entering else None
        for order in orders:
            if refused:
                done.failures.append(
                    self._record(ref, plan, order, OrderStatus.REJECTED, account, reason=refused)
                )
                continue
            outcome = self._place(ref, plan, broker, order, account)
            (done.outcomes if outcome.status.placed else done.failures).append(outcome)

    # -- finishing -----------------------------------------------------------------------------
    def _finish(self, ref: ExecutionRef, done: Progress, started: float) -> ExecutionReport:
        outcomes, failures = done.outcomes, done.failures
        if outcomes:
            status = ExecutionStatus.PARTIAL if failures else ExecutionStatus.COMPLETED
        else:
            status = ExecutionStatus.FAILED if failures else ExecutionStatus.COMPLETED
        premium: dict[str, Decimal] = defaultdict(Decimal)
        for o in outcomes:
            if o.fill_price is not None:
                premium[o.client_id] += o.fill_price * o.quantity * -o.transaction_type.sign
        results = ExecutionResults(
            successful_orders=len(outcomes),
            failed_orders=len(failures),
            total_premium=sum(premium.values(), Decimal(0)),
            execution_time_ms=int((time.perf_counter() - started) * 1000),
            failures=failures,
            skipped=done.skipped,
        )
        counts = performance.execution_finished(
            ref.user_id,
            ref.strategy_id,
            status,
            outcomes,
            failures,
            premium,
            results.execution_time_ms,
        )
        self.executions.finish(ref, status, results, self.clock.now(), counts)
        return ExecutionReport(status=status, key=ref.key, results=results)

    def _release_unclosed(self, ref: ExecutionRef, done: Progress) -> None:
        """A claimed position whose closing order is not still working gives its claim back, so the
        next exit or stop loss can close it."""
        working = {
            (o.client_id, o.leg_no, o.tradingsymbol) for o in done.outcomes if o.status.working
        }
        for position in done.claimed:
            if (position.client_id, position.leg_no, position.tradingsymbol) not in working:
                self.positions.release(position, ref.key)

    # -- sending -------------------------------------------------------------------------------
    def _place(
        self,
        ref: ExecutionRef,
        plan: ExecutionPlan,
        broker: Broker,
        order: PlannedOrder,
        account: Account,
    ) -> OrderOutcome:
        intent = self._order(ref, plan, order, OrderStatus.INTENT, account)
        known: OrderRecord | None = None
        if not self.orders.record_intent(intent):
            known = self.orders.get(ref.user_id, intent.key) if intent.key else None
            if known and known.status is not OrderStatus.INTENT:
                return known.outcome
        placed = None
        if known is not None:
            # sent before, by a run that did not finish
            placed = next(iter(broker.orders_by_tag(order.tag)), None)
        if placed is None:
            try:
                placed = broker.place_order(request_for(order, _product(plan, account)))
            except Exception as error:
                # A timeout may hide an order the broker accepted: its tag says whether it did.
                placed = next(iter(_safely(lambda: broker.orders_by_tag(order.tag))), None)
                if placed is None:
                    return self._record(
                        ref,
                        plan,
                        order,
                        OrderStatus.FAILED,
                        account,
                        reason=f"the broker did not take the order ({_described(error)}) and its book has no order with the tag {order.tag}",
                    )
        return self._record(ref, plan, order, placed.status, account, broker_order=placed)

    def _order(
        self,
        ref: ExecutionRef,
        plan: ExecutionPlan,
        order: PlannedOrder,
        status: OrderStatus,
        account: Account,
        *,
        reason: str | None = None,
        broker_order_id: str | None = None,
        fill_price: Decimal | None = None,
        status_message: str | None = None,
    ) -> OrderRecord:
        """The order's record; what happened to it so far (None: nothing yet) is left out of the
        item, as the table never holds a null at the top of an item."""
        leg: PlanLeg | None = plan.leg(order.leg_no)
        return OrderRecord(
            key=self.orders.order_key(ref.execution_date, order.tag),
            user_id=ref.user_id,
            strategy_id=ref.strategy_id,
            execution_key=ref.key,
            execution_type=ref.execution_type,
            underlying=order.underlying,
            client_id=order.client_id,
            broker=order.broker,
            leg_no=order.leg_no,
            slice_no=order.slice_no,
            lots=order.lots,
            lot_size=order.lot_size,
            quantity=order.quantity,
            transaction_type=order.transaction_type,
            option_type=order.option_type,
            strike=order.strike,
            expiry=order.expiry.date,
            expiry_type=order.expiry.type,
            tradingsymbol=order.tradingsymbol,
            order_type=order.order_type,
            price=order.price,
            tag=order.tag,
            status=status,
            product=_product(plan, account),
            mode=account.mode,
            max_daily_loss=account.risk_limits.max_daily_loss if account.risk_limits else None,
            stop_loss=leg.stop_loss if leg else None,
            stop_loss_type=leg.stop_loss_type if leg else StopLossType.POINTS,
            placed_at=utc_iso(self.clock.now()),
            reason=reason,
            broker_order_id=broker_order_id,
            fill_price=fill_price,
            status_message=status_message,
        )

    def _record(
        self,
        ref: ExecutionRef,
        plan: ExecutionPlan,
        order: PlannedOrder,
        status: OrderStatus,
        account: Account,
        reason: str | None = None,
        broker_order: BrokerOrder | None = None,
    ) -> OrderOutcome:
        record = self._order(
            ref,
            plan,
            order,
            status,
            account,
            # An order that ends unplaced always says why: ours, else the broker's words.
            reason=reason
            or unplaced_reason(status, broker_order.status_message if broker_order else None),
            broker_order_id=broker_order.order_id if broker_order else None,
            fill_price=broker_order.average_price if broker_order else None,
            status_message=broker_order.status_message if broker_order else None,
        )
        if status is OrderStatus.COMPLETE and record.fill_price is not None:
            # the order and the position it moves, together and once
            self.positions.record_fill(record)
            return record.outcome
        # Never over a record whose fill a reconciliation has applied meanwhile.
        return self.orders.save_unless_applied(record).outcome


class ClosingOrders:
    """The orders an exit or a stop loss sends: what the strategy holds, closed on the account that
    holds it."""

    def __init__(
        self,
        positions: PositionLedger,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        clock: Clock,
        calendar: TradingCalendar,
    ):
        self.positions, self.market, self.catalog, self.clock = positions, market, catalog, clock
        self.calendar = calendar

    def orders(
        self, ref: ExecutionRef, plan: ExecutionPlan, done: Progress
    ) -> tuple[list[PlannedOrder], dict[str, Account]]:
        """Close what the strategy holds (or, for a stop loss, the one position the plan names), on
        the account that holds it, shorts first, each position claimed before it is closed."""
        only = plan.close
        if only is not None and only.position_key:
            named = self.positions.position(ref.user_id, only.position_key)
            found = Found([named] if named is not None else [])
        else:
            found = self.positions.held(
                ref.user_id, ref.strategy_id, only.client_id if only else None
            )
        # A position whose item does not read cannot be closed: it is a failure of this close,
        # and everything else the close must reach is still closed.
        done.failures += [PlanningFailure(reason=str(u)) for u in found.unreadable]
        positions = [p for p in found.records if p.quantity]
        instrument = self.catalog.get(plan.underlying)
        tick = Decimal(instrument.tick_size)
        now = self.clock.now()
        orders: list[PlannedOrder] = []
        accounts: dict[str, Account] = {}
        # Buying back shorts before selling longs keeps the account hedged until the end.
        for position in sorted(
            positions, key=lambda p: (p.client_id, p.quantity > 0, p.leg_no, p.tradingsymbol)
        ):
            skip = None
            last_session = self.calendar.session_on(position.expiry)
            if expired(position, now) or (
                last_session is not None and now >= last_session.close_at()
            ):
                # No order on a contract that has expired, even on the day it did.
                skip = "expired: settled by the exchange"
            elif not self.positions.claim(position, ref.key):
                skip = "already being closed by another execution"
            if skip:
                done.skipped.append(
                    SkippedClose(client_id=position.client_id, leg_no=position.leg_no, reason=skip)
                )
                continue
            done.claimed.append(position)
            # What it holds now that it is ours: a fill may have landed between the read and the claim.
            current = (
                self.positions.position(position.user_id, position.key)
                if position.key is not None
                else None
            )
            quantity = current.quantity if current is not None else 0
            if quantity == 0:
                continue
            accounts[position.client_id] = Account(
                position.client_id,
                position.broker,
                position.mode or AccountMode.PAPER,
                position.product,
            )
            side = Side.BUY if quantity < 0 else Side.SELL
            leg = plan.leg(position.leg_no)
            order_type = plan.order_type or (leg.order_type if leg else OrderType.LIMIT)
            expiry = Expiry(position.expiry, position.expiry_type, position.expiry)
            price = None
            if order_type == OrderType.LIMIT:
                quote = self.market.quote(
                    plan.underlying, expiry.date, position.strike, position.option_type, now
                )
                price = limit_price(
                    quote,
                    side,
                    leg.exit_slippage if leg else Decimal(0),
                    leg.exit_max_slippage if leg else None,
                    tick,
                )
            for lots in slices(
                abs(quantity) // position.lot_size, position.lot_size, instrument.freeze_quantity
            ):
                orders.append(
                    PlannedOrder(
                        underlying=plan.underlying,
                        client_id=position.client_id,
                        broker=position.broker,
                        leg_no=position.leg_no,
                        slice_no=len(orders) + 1,
                        transaction_type=side,
                        option_type=position.option_type,
                        strike=position.strike,
                        expiry=expiry,
                        tradingsymbol=position.tradingsymbol,
                        lots=lots,
                        lot_size=position.lot_size,
                        quantity=lots * position.lot_size,
                        order_type=OrderType(order_type),
                        price=price,
                        tag=order_tag(
                            ref.key, position.client_id, position.leg_no, len(orders) + 1
                        ),
                    )
                )
        return orders, accounts


class RiskCheck:
    """An allocation's risk limits, checked before an entry's orders on one account are sent."""

    def __init__(
        self,
        orders: OrderStore,
        positions: PositionLedger,
        market: MarketDataProvider,
        clock: Clock,
    ):
        self.orders, self.positions, self.market, self.clock = orders, positions, market, clock

    def refusal(
        self, ref: ExecutionRef, account: Account, orders: list[PlannedOrder], broker: Broker
    ) -> str | None:
        """Why these orders may not be sent, or None."""
        limits = account.risk_limits or RiskLimits()
        client_id = orders[0].client_id
        if limits.max_daily_trades is not None:
            today = self.orders.orders(
                ref.user_id, date.fromisoformat(ref.execution_date), ref.strategy_id, client_id
            )
            sent = sum(
                1 for o in today if o.status not in (OrderStatus.REJECTED, OrderStatus.FAILED)
            )
            if sent + len(orders) > limits.max_daily_trades:
                return f"max_daily_trades {limits.max_daily_trades}: {sent} sent today and {len(orders)} more planned"
        if limits.max_position_value is not None:
            value = sum((o.price or Decimal(0)) * o.quantity for o in orders)
            if value > limits.max_position_value:
                return f"max_position_value {limits.max_position_value}: these orders are worth {value}"
        if limits.max_daily_loss is not None:
            now = self.clock.now()
            found = self.positions.held(ref.user_id, ref.strategy_id, client_id)
            if found.unreadable:
                return f"max_daily_loss {limits.max_daily_loss}: the loss could not be checked ({'; '.join(map(str, found.unreadable))})"
            held = found.records
            marks = {
                p.key: self.market.quote(p.underlying, p.expiry, p.strike, p.option_type, now).last
                for p in held
                if p.key and p.quantity and not expired(p, now)
            }
            loss = -day_pnl(held, marks, ist_date(now))
            if loss >= limits.max_daily_loss:
                return f"max_daily_loss {limits.max_daily_loss}: this account has lost {loss.quantize(Decimal('0.01'))} on the strategy today"
        if limits.max_margin_utilization is not None:
            try:
                used = broker.margin_utilization(
                    [request_for(order, account.product) for order in orders]
                )
            except Exception as error:
                return f"max_margin_utilization {limits.max_margin_utilization}: the margin could not be checked ({error})"
            if used > limits.max_margin_utilization:
                return f"max_margin_utilization {limits.max_margin_utilization}%: these orders would use {used}% of the account's margin"
        return None


def request_for(order: PlannedOrder, product: Product | None) -> OrderRequest:
    return OrderRequest(
        tradingsymbol=order.tradingsymbol,
        underlying=order.underlying,
        expiry=order.expiry.date,
        strike=order.strike,
        option_type=order.option_type,
        transaction_type=order.transaction_type,
        quantity=order.quantity,
        order_type=order.order_type,
        price=order.price,
        tag=order.tag,
        product=product or Product.NRML,
    )


def _product(plan: ExecutionPlan, account: Account) -> Product:
    return account.product or plan.product or Product.NRML


def _by_account(orders: list[PlannedOrder]) -> dict[str, list[PlannedOrder]]:
    grouped: dict[str, list[PlannedOrder]] = defaultdict(list)
    for order in orders:
        grouped[order.client_id].append(order)
    return grouped


def _why(error: Exception) -> str:
    """An exception as a reason: its message, or its kind when it has none."""
    return str(error).strip() or type(error).__name__


def _described(error: Exception) -> str:
    """An exception's kind and message (a timeout and a refused connection read differently)."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _safely(call: Callable[[], list[BrokerOrder]]) -> list[BrokerOrder]:
    try:
        return call()
    except Exception:
        return []
