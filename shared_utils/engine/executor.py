"""The strategy executor: one execution of one strategy, on every account its plan names.

1. Claim the execution (SCHEDULED -> IN_PROGRESS, conditional): a second executor, or a second
   workflow, finds it claimed and does nothing.
2. Entry: resolve each leg's expiry and strike from the market, plan the orders (order_planning).
   Exit: close what the strategy's own filled orders hold, per account and contract, shorts first.
3. Per account, check the allocation's risk limits; orders that would break one are not sent and
   say why.
4. Record each order's intent (its deterministic tag) before sending it. If the intent is already
   there (a retry), or the broker times out, look the tag up in the broker's book instead of
   sending again.
5. Finish COMPLETED, PARTIAL or FAILED with the results; a failure on one account or leg does not
   stop the others.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.broker import Broker, BrokerOrder, OrderRequest
from shared_utils.domain.clock import Clock, ist_date, utc_iso
from shared_utils.domain.enums import WORKING_ORDER_STATUSES
from shared_utils.domain.errors import Conflict
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.domain.models import Leg
from shared_utils.engine import performance
from shared_utils.engine.order_planning import (
    PlannedOrder,
    limit_price,
    order_tag,
    plan_entry,
    slices,
)
from shared_utils.engine.positions import PositionBook, day_pnl, expired
from shared_utils.market.data import MarketDataProvider
from shared_utils.market.expiries import Expiry, ExpiryCalendar
from shared_utils.market.strike_selection import select_strikes

PLACED = ("COMPLETE", "OPEN", "TRIGGER_PENDING")


def order_key(execution_date: str, tag: str) -> str:
    return f"ORDER#{execution_date.replace('-', '')}#{tag}"


@dataclass(frozen=True)
class ExecutionRef:
    user_id: str
    sort_key: str
    strategy_id: str
    execution_type: str
    execution_date: str


class StrategyExecutor:
    def __init__(
        self,
        repository: ConfigurationRepository,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        expiries: ExpiryCalendar,
        clock: Clock,
        broker_for: Callable[[str, str, str, str], Broker],  # (user_id, client_id, broker, mode)
    ):
        self.repository, self.market, self.catalog, self.expiries = (
            repository,
            market,
            catalog,
            expiries,
        )
        self.clock, self.broker_for = clock, broker_for
        self.book = PositionBook(repository, clock)

    def execute(self, ref: ExecutionRef) -> dict[str, Any]:
        record = self._claim(ref)
        if record is None:
            return {"status": "ALREADY_CLAIMED", "sort_key": ref.sort_key}
        started = time.perf_counter()
        plan = record["plan"]
        claimed: list[dict] = []
        skipped: list[dict] = []
        outcomes, failures = [], []
        try:
            try:
                if ref.execution_type == "ENTRY":
                    orders = self._entry_orders(ref, plan)
                    accounts = {a["client_id"]: a for a in plan["allocations"]}
                else:
                    orders, accounts = self._exit_orders(ref, plan, claimed, skipped)
            except Exception as error:
                failures.append(
                    {"reason": f"could not plan the orders: {type(error).__name__}: {error}"}
                )
                orders, accounts = [], {}
            for client_id, account_orders in _by_account(orders).items():
                allocation = accounts[client_id]
                terms = self._terms(plan, allocation)
                try:
                    broker = self.broker_for(
                        ref.user_id,
                        client_id,
                        allocation["broker"],
                        allocation.get("mode", "PAPER"),
                    )
                except Exception as error:
                    failures.extend(
                        self._record(ref, order, "FAILED", terms, reason=str(error))
                        for order in account_orders
                    )
                    continue
                # Risk limits guard what a trader adds; closing a position only ever reduces risk.
                refused = (
                    self._risk_refusal(ref, allocation, account_orders, broker)
                    if ref.execution_type == "ENTRY"
                    else None
                )
                for order in account_orders:
                    if refused:
                        failures.append(self._record(ref, order, "REJECTED", terms, reason=refused))
                        continue
                    outcome = self._place(ref, broker, order, terms)
                    (outcomes if outcome["status"] in PLACED else failures).append(outcome)
        except Exception as error:
            # Never leave a claimed execution IN_PROGRESS: say what happened and how far it got.
            failures.append(
                {"reason": f"stopped by an unexpected error: {type(error).__name__}: {error}"}
            )
        finally:
            self._release_unclosed(ref, claimed, outcomes)
        return self._finish(ref, record, outcomes, failures, skipped, started)

    # -- claiming and finishing ----------------------------------------------------------------
    def _claim(self, ref: ExecutionRef) -> dict | None:
        try:
            self.repository.commit(
                [
                    db.update(
                        ref.user_id,
                        ref.sort_key,
                        "SET #status = :running, started_at = :now",
                        "#status = :scheduled",
                        Conflict("claimed"),
                        names={"#status": "status"},
                        values={
                            ":running": "IN_PROGRESS",
                            ":scheduled": "SCHEDULED",
                            ":now": utc_iso(self.clock.now()),
                        },
                    )
                ]
            )
        except Conflict:
            return None
        return self.repository.get(ref.user_id, ref.sort_key)

    def _finish(self, ref, record, outcomes, failures, skipped, started) -> dict[str, Any]:
        status = (
            "COMPLETED"
            if outcomes and not failures
            else "PARTIAL"
            if outcomes
            else ("COMPLETED" if not failures else "FAILED")
        )
        premium: dict[str, Decimal] = defaultdict(Decimal)
        for o in outcomes:
            if o.get("fill_price") is not None:
                premium[o["client_id"]] += (
                    Decimal(str(o["fill_price"]))
                    * o["quantity"]
                    * (1 if o["transaction_type"] == "SELL" else -1)
                )
        results = {
            "successful_orders": len(outcomes),
            "failed_orders": len(failures),
            "total_premium": sum(premium.values(), Decimal(0)),
            "execution_time_ms": int((time.perf_counter() - started) * 1000),
            "failures": failures,
            "skipped": skipped,
        }
        self.repository.commit(
            [
                db.update(
                    ref.user_id,
                    ref.sort_key,
                    "SET #status = :status, completed_at = :now, execution_results = :results",
                    "#status = :running",
                    Conflict("not in progress"),
                    names={"#status": "status"},
                    values={
                        ":status": status,
                        ":now": utc_iso(self.clock.now()),
                        ":results": results,
                        ":running": "IN_PROGRESS",
                    },
                ),
                *performance.execution_finished(
                    ref.user_id,
                    ref.strategy_id,
                    status,
                    outcomes,
                    failures,
                    premium,
                    results["execution_time_ms"],
                ),
            ]
        )
        return {
            "status": status,
            "sort_key": ref.sort_key,
            **{k: v for k, v in results.items() if k not in ("failures", "skipped")},
            "failures": failures,
            "skipped": skipped,
        }

    def _release_unclosed(
        self, ref: ExecutionRef, claimed: list[dict], outcomes: list[dict]
    ) -> None:
        """A claimed position whose closing order is not still working gives its claim back, so the
        next exit or stop loss can close it."""
        working = {
            (o["client_id"], o["leg_no"], o.get("tradingsymbol"))
            for o in outcomes
            if o["status"] in WORKING_ORDER_STATUSES
        }
        for position in claimed:
            if (
                position["client_id"],
                int(position["leg_no"]),
                position["tradingsymbol"],
            ) not in working:
                self.book.release(ref.user_id, position[keys.SK], ref.sort_key)

    # -- what to send --------------------------------------------------------------------------
    def _entry_orders(self, ref: ExecutionRef, plan: dict) -> list[PlannedOrder]:
        instrument = self.catalog.get(plan["underlying"])
        now = self.clock.now()
        today = ist_date(now)
        square_off = self.expiries.calendar.square_off_at(today)
        if plan.get("product") == "MIS" and square_off is not None and now >= square_off:
            raise ValueError(
                f"an intraday (MIS) strategy is not entered after its square-off time {square_off:%H:%M} IST"
            )
        legs = [
            Leg.model_validate(
                {**leg, "strategy_id": ref.strategy_id, "created_at": "-", "updated_at": "-"}
            )
            for leg in plan["legs"]
        ]
        expiries = {
            leg.leg_no: self.expiries.resolve(instrument, leg.expiry_type, leg.expiry_offset, today)
            for leg in legs
        }
        chains = {}

        def chain_for(leg: Leg):
            expiry = expiries[leg.leg_no].date
            if expiry not in chains:
                chains[expiry] = self.market.chain(plan["underlying"], expiry, self.clock.now())
            return chains[expiry]

        strikes = select_strikes(legs, chain_for)
        return plan_entry(ref.sort_key, plan, strikes, expiries, self.catalog)

    def _exit_orders(self, ref: ExecutionRef, plan: dict, claimed: list[dict], skipped: list[dict]):
        """Close what the strategy holds (or, for a stop loss, the one position the plan names), on
        the account that holds it, shorts first, each position claimed before it is closed."""
        only = plan.get("close") or {}
        positions = [
            p
            for p in self.book.held(ref.user_id, ref.strategy_id, only.get("client_id"))
            if int(p["quantity"])
            and (not only.get("position_key") or p[keys.SK] == only["position_key"])
        ]
        legs = {int(leg["leg_no"]): leg for leg in plan.get("legs", [])}
        instrument = self.catalog.get(plan["underlying"])
        tick = Decimal(instrument.tick_size)
        now = self.clock.now()
        orders, accounts = [], {}
        # Buying back shorts before selling longs keeps the account hedged until the end.
        for position in sorted(
            positions,
            key=lambda p: (
                p["client_id"],
                int(p["quantity"]) > 0,
                int(p["leg_no"]),
                p["tradingsymbol"],
            ),
        ):
            client_id, leg_no, quantity = (
                position["client_id"],
                int(position["leg_no"]),
                int(position["quantity"]),
            )
            if expired(position, now):
                skipped.append(
                    {
                        "client_id": client_id,
                        "leg_no": leg_no,
                        "reason": "expired: settled by the exchange",
                    }
                )
                continue
            if not self.book.claim(position, ref.sort_key):
                skipped.append(
                    {
                        "client_id": client_id,
                        "leg_no": leg_no,
                        "reason": "already being closed by another execution",
                    }
                )
                continue
            claimed.append(position)
            # What it holds now that it is ours: a fill may have landed between the read and the claim.
            quantity = int(
                (self.repository.get(ref.user_id, position[keys.SK]) or {"quantity": 0})["quantity"]
            )
            if quantity == 0:
                continue
            accounts[client_id] = {
                "client_id": client_id,
                "broker": position["broker"],
                "mode": position.get("mode", "PAPER"),
                "product": position.get("product"),
            }
            side = "BUY" if quantity < 0 else "SELL"
            leg = legs.get(leg_no, {})
            order_type = plan.get("order_type") or leg.get("order_type", "LIMIT")
            expiry_date = date.fromisoformat(position["expiry"])
            expiry = Expiry(expiry_date, position.get("expiry_type", "WEEKLY"), expiry_date)
            lot_size = int(position["lot_size"])
            price = None
            if order_type == "LIMIT":
                quote = self.market.quote(
                    plan["underlying"],
                    expiry.date,
                    Decimal(str(position["strike"])),
                    position["option_type"],
                    now,
                )
                price = limit_price(
                    quote,
                    side,
                    Decimal(str(leg.get("exit_slippage", 0))),
                    None
                    if leg.get("exit_max_slippage") is None
                    else Decimal(str(leg["exit_max_slippage"])),
                    tick,
                )
            for lots in slices(abs(quantity) // lot_size, lot_size, instrument.freeze_quantity):
                orders.append(
                    PlannedOrder(
                        underlying=plan["underlying"],
                        client_id=client_id,
                        broker=position["broker"],
                        leg_no=leg_no,
                        slice_no=len(orders) + 1,
                        transaction_type=side,
                        option_type=position["option_type"],
                        strike=Decimal(str(position["strike"])),
                        expiry=expiry,
                        tradingsymbol=position["tradingsymbol"],
                        lots=lots,
                        lot_size=lot_size,
                        quantity=lots * lot_size,
                        order_type=order_type,
                        price=price,
                        tag=order_tag(ref.sort_key, client_id, leg_no, len(orders) + 1),
                    )
                )
        return orders, accounts

    def _risk_refusal(
        self, ref: ExecutionRef, allocation: dict, orders: list[PlannedOrder], broker: Broker
    ) -> str | None:
        limits = allocation.get("risk_limits") or {}
        client_id = orders[0].client_id
        if limits.get("max_daily_trades") is not None:
            today, _ = self.repository.query_prefix(
                ref.user_id,
                f"ORDER#{ref.execution_date.replace('-', '')}#",
                filters={"strategy_id": ref.strategy_id, "client_id": client_id},
            )
            sent = sum(1 for item in today if item.get("status") not in ("REJECTED", "FAILED"))
            if sent + len(orders) > int(limits["max_daily_trades"]):
                return f"max_daily_trades {limits['max_daily_trades']}: {sent} sent today and {len(orders)} more planned"
        if limits.get("max_position_value") is not None:
            value = sum((o.price or Decimal(0)) * o.quantity for o in orders)
            if value > Decimal(str(limits["max_position_value"])):
                return f"max_position_value {limits['max_position_value']}: these orders are worth {value}"
        if limits.get("max_daily_loss") is not None:
            now = self.clock.now()
            held = self.book.held(ref.user_id, ref.strategy_id, client_id)
            marks = {
                p[keys.SK]: self.market.quote(
                    p["underlying"],
                    date.fromisoformat(p["expiry"]),
                    Decimal(str(p["strike"])),
                    p["option_type"],
                    now,
                ).last
                for p in held
                if int(p["quantity"]) and not expired(p, now)
            }
            loss = -day_pnl(held, marks, ist_date(now))
            if loss >= Decimal(str(limits["max_daily_loss"])):
                return f"max_daily_loss {limits['max_daily_loss']}: this account has lost {loss.quantize(Decimal('0.01'))} on the strategy today"
        if limits.get("max_margin_utilization") is not None:
            try:
                used = broker.margin_utilization(
                    [self._request(order, allocation.get("product")) for order in orders]
                )
            except Exception as error:
                return f"max_margin_utilization {limits['max_margin_utilization']}: the margin could not be checked ({error})"
            if used > Decimal(str(limits["max_margin_utilization"])):
                return f"max_margin_utilization {limits['max_margin_utilization']}%: these orders would use {used}% of the account's margin"
        return None

    # -- sending -------------------------------------------------------------------------------
    def _terms(self, plan: dict, allocation: dict) -> dict[str, Any]:
        return {
            "product": allocation.get("product") or plan.get("product") or "NRML",
            "mode": allocation.get("mode", "PAPER"),
            "max_daily_loss": (allocation.get("risk_limits") or {}).get("max_daily_loss"),
            "legs": {int(leg["leg_no"]): leg for leg in plan.get("legs", [])},
        }

    def _place(
        self, ref: ExecutionRef, broker: Broker, order: PlannedOrder, terms: dict
    ) -> dict[str, Any]:
        key = order_key(ref.execution_date, order.tag)
        try:
            self.repository.commit(
                [db.put_new(self._item(ref, order, "INTENT", terms), Conflict("intent exists"))]
            )
            known = None
        except Conflict:
            known = self.repository.get(ref.user_id, key)
            if known and known.get("status") not in ("INTENT",):
                return _outcome(known)
        placed = None
        if known is not None:
            placed = next(
                iter(broker.orders_by_tag(order.tag)), None
            )  # sent before, by a run that did not finish
        if placed is None:
            try:
                placed = broker.place_order(self._request(order, terms["product"]))
            except Exception as error:
                # A timeout may hide an order the broker accepted: its tag says whether it did.
                placed = next(iter(_safely(lambda: broker.orders_by_tag(order.tag))), None)
                if placed is None:
                    return self._record(
                        ref, order, "FAILED", terms, reason=f"{type(error).__name__}: {error}"
                    )
        return self._record(ref, order, placed.status, terms, broker_order=placed)

    def _request(self, order: PlannedOrder, product: str | None) -> OrderRequest:
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
            product=product or "NRML",
        )

    def _item(
        self, ref: ExecutionRef, order: PlannedOrder, status: str, terms: dict
    ) -> dict[str, Any]:
        now = self.clock.now()
        sort_key = order_key(ref.execution_date, order.tag)
        leg = terms["legs"].get(order.leg_no, {})
        return {
            keys.PK: ref.user_id,
            keys.SK: sort_key,
            "entity_type": "ORDER",
            **keys.order_index(order_bucket_start(now), ref.user_id, order.client_id, sort_key),
            **(
                keys.working_order_index(ref.user_id, order.client_id, sort_key)
                if status in ("INTENT", *WORKING_ORDER_STATUSES)
                else {}
            ),
            "strategy_id": ref.strategy_id,
            "execution_key": ref.sort_key,
            "execution_type": ref.execution_type,
            "underlying": order.underlying,
            "client_id": order.client_id,
            "broker": order.broker,
            "leg_no": order.leg_no,
            "slice_no": order.slice_no,
            "lots": order.lots,
            "lot_size": order.lot_size,
            "quantity": order.quantity,
            "transaction_type": order.transaction_type,
            "option_type": order.option_type,
            "strike": order.strike,
            "expiry": order.expiry.date.isoformat(),
            "expiry_type": order.expiry.type,
            "tradingsymbol": order.tradingsymbol,
            "order_type": order.order_type,
            "price": order.price,
            "tag": order.tag,
            "status": status,
            "product": terms["product"],
            "mode": terms["mode"],
            "max_daily_loss": terms["max_daily_loss"],
            "stop_loss": leg.get("stop_loss"),
            "stop_loss_type": leg.get("stop_loss_type", "POINTS"),
            "placed_at": utc_iso(now),
        }

    def _record(
        self,
        ref,
        order: PlannedOrder,
        status: str,
        terms: dict,
        reason: str | None = None,
        broker_order: BrokerOrder | None = None,
    ) -> dict:
        item = self._item(ref, order, status, terms)
        if reason:
            item["reason"] = reason
        if broker_order is not None:
            item["broker_order_id"] = broker_order.order_id
            item["fill_price"] = broker_order.average_price
            item["status_message"] = broker_order.status_message
        if status == "COMPLETE" and item.get("fill_price") is not None:
            self.book.record_fill(item)  # the order and the position it moves, together and once
            return _outcome(item)
        try:
            # Never over a record whose fill a reconciliation has applied meanwhile.
            self.repository.commit(
                [
                    db.Write(
                        "Put",
                        {keys.PK: ref.user_id, keys.SK: item[keys.SK]},
                        item=item,
                        condition="attribute_not_exists(position_applied)",
                        on_condition_failure=Conflict("applied"),
                    )
                ]
            )
        except Conflict:
            return _outcome(self.repository.get(ref.user_id, item[keys.SK]))
        return _outcome(item)


def order_bucket_start(moment) -> str:
    """The UTC minute (YYYYMMDDHHMM) starting the ORDER_BUCKET_MINUTES bucket `moment` falls in."""
    utc = moment.astimezone(UTC)
    return utc.replace(
        minute=utc.minute - utc.minute % keys.ORDER_BUCKET_MINUTES, second=0, microsecond=0
    ).strftime("%Y%m%d%H%M")


def _outcome(item: dict) -> dict[str, Any]:
    return {
        key: item.get(key)
        for key in (
            "client_id",
            "leg_no",
            "tradingsymbol",
            "tag",
            "status",
            "quantity",
            "transaction_type",
            "fill_price",
            "broker_order_id",
            "reason",
        )
    }


def _by_account(orders: list[PlannedOrder]) -> dict[str, list[PlannedOrder]]:
    grouped: dict[str, list[PlannedOrder]] = defaultdict(list)
    for order in orders:
        grouped[order.client_id].append(order)
    return grouped


def _safely(call):
    try:
        return call()
    except Exception:
        return []
