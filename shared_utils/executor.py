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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from shared_utils import keys
from shared_utils import repository as db
from shared_utils.brokers import Broker, BrokerOrder, OrderRequest
from shared_utils.clock import Clock, ist_date, utc_iso
from shared_utils.errors import Conflict
from shared_utils.expiries import Expiry, ExpiryCalendar
from shared_utils.instruments import InstrumentCatalog
from shared_utils.market_data import MarketDataProvider
from shared_utils.models import Leg
from shared_utils.order_planning import PlannedOrder, limit_price, order_tag, plan_entry, slices
from shared_utils.repository import ConfigurationRepository
from shared_utils.strike_selection import select_strikes

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
        self.repository, self.market, self.catalog, self.expiries = repository, market, catalog, expiries
        self.clock, self.broker_for = clock, broker_for

    def execute(self, ref: ExecutionRef) -> dict[str, Any]:
        record = self._claim(ref)
        if record is None:
            return {"status": "ALREADY_CLAIMED", "sort_key": ref.sort_key}
        started = time.perf_counter()
        plan = record["plan"]
        try:
            orders = self._entry_orders(ref, plan) if ref.execution_type == "ENTRY" else self._exit_orders(ref, plan)
        except (ValueError, KeyError) as error:
            return self._finish(ref, record, [], [{"reason": f"could not plan the orders: {error}"}], started)
        outcomes, failures = [], []
        try:
            for client_id, account_orders in _by_account(orders).items():
                allocation = next((a for a in plan["allocations"] if a["client_id"] == client_id), {})
                refused = self._risk_refusal(ref, allocation, account_orders)
                for order in account_orders:
                    if refused:
                        failures.append({"client_id": client_id, "leg_no": order.leg_no, "tag": order.tag, "reason": refused})
                        self._record(ref, order, status="REJECTED", reason=refused)
                        continue
                    outcome = self._place(ref, allocation, order)
                    (outcomes if outcome["status"] in PLACED else failures).append(outcome)
        except Exception as error:
            # Never leave a claimed execution IN_PROGRESS: say what happened and how far it got.
            failures.append({"reason": f"stopped by an unexpected error: {type(error).__name__}: {error}"})
        return self._finish(ref, record, outcomes, failures, started)

    # -- claiming and finishing ----------------------------------------------------------------
    def _claim(self, ref: ExecutionRef) -> dict | None:
        try:
            self.repository.commit([db.update(
                ref.user_id, ref.sort_key, "SET #status = :running, started_at = :now", "#status = :scheduled",
                Conflict("claimed"), names={"#status": "status"},
                values={":running": "IN_PROGRESS", ":scheduled": "SCHEDULED", ":now": utc_iso(self.clock.now())},
            )])
        except Conflict:
            return None
        return self.repository.get(ref.user_id, ref.sort_key)

    def _finish(self, ref, record, outcomes, failures, started) -> dict[str, Any]:
        status = "COMPLETED" if outcomes and not failures else "PARTIAL" if outcomes else (
            "COMPLETED" if not failures else "FAILED")
        premium = sum((Decimal(str(o["fill_price"])) * o["quantity"] * (1 if o["transaction_type"] == "SELL" else -1)
                       for o in outcomes if o.get("fill_price") is not None), Decimal(0))
        results = {
            "successful_orders": len(outcomes),
            "failed_orders": len(failures),
            "total_premium": premium,
            "execution_time_ms": int((time.perf_counter() - started) * 1000),
            "failures": failures,
        }
        self.repository.commit([db.update(
            ref.user_id, ref.sort_key, "SET #status = :status, completed_at = :now, execution_results = :results",
            "#status = :running", Conflict("not in progress"), names={"#status": "status"},
            values={":status": status, ":now": utc_iso(self.clock.now()), ":results": results, ":running": "IN_PROGRESS"},
        )])
        return {"status": status, "sort_key": ref.sort_key, **{k: v for k, v in results.items() if k != "failures"},
                "failures": failures}

    # -- what to send --------------------------------------------------------------------------
    def _entry_orders(self, ref: ExecutionRef, plan: dict) -> list[PlannedOrder]:
        instrument = self.catalog.get(plan["underlying"])
        today = ist_date(self.clock.now())
        legs = [Leg.model_validate({**leg, "strategy_id": ref.strategy_id, "created_at": "-", "updated_at": "-"}) for leg in plan["legs"]]
        expiries = {leg.leg_no: self.expiries.resolve(instrument, leg.expiry_type, leg.expiry_offset, today) for leg in legs}
        chains = {}

        def chain_for(leg: Leg):
            expiry = expiries[leg.leg_no].date
            if expiry not in chains:
                chains[expiry] = self.market.chain(plan["underlying"], expiry, self.clock.now())
            return chains[expiry]

        strikes = select_strikes(legs, chain_for)
        return plan_entry(ref.sort_key, plan, strikes, expiries, self.catalog)

    def _exit_orders(self, ref: ExecutionRef, plan: dict) -> list[PlannedOrder]:
        """Close what this strategy's filled orders hold, on the account that holds it, shorts first."""
        items, _ = self.repository.query_prefix(ref.user_id, "ORDER#", filters={"strategy_id": ref.strategy_id})
        held: dict[tuple[str, str], dict] = {}
        for item in items:
            if item.get("status") != "COMPLETE":
                continue
            position = held.setdefault((item["client_id"], item["tradingsymbol"]), {**item, "net": 0})
            position["net"] += int(item["quantity"]) * (1 if item["transaction_type"] == "BUY" else -1)
        legs = {int(leg["leg_no"]): leg for leg in plan["legs"]}
        instrument = self.catalog.get(plan["underlying"])
        tick = Decimal(instrument.tick_size)
        today = ist_date(self.clock.now())
        # A contract that has expired was settled by the exchange: there is nothing left to close.
        held = {key: position for key, position in held.items() if date.fromisoformat(position["expiry"]) >= today}
        orders = []
        # Buying back shorts before selling longs keeps the account hedged until the end.
        for (client_id, symbol), position in sorted(held.items(), key=lambda kv: (kv[0][0], kv[1]["net"] > 0, kv[0][1])):
            if position["net"] == 0:
                continue
            side = "BUY" if position["net"] < 0 else "SELL"
            leg = legs.get(int(position["leg_no"]), {})
            expiry = Expiry(date.fromisoformat(position["expiry"]), position.get("expiry_type", "WEEKLY"), date.fromisoformat(position["expiry"]))
            lot_size = int(position["lot_size"])
            price = None
            if leg.get("order_type", "LIMIT") == "LIMIT":
                quote = self.market.quote(plan["underlying"], expiry.date, Decimal(str(position["strike"])), position["option_type"], self.clock.now())
                price = limit_price(quote, side, Decimal(str(leg.get("exit_slippage", 0))),
                                    None if leg.get("exit_max_slippage") is None else Decimal(str(leg["exit_max_slippage"])), tick)
            for lots in slices(abs(position["net"]) // lot_size, lot_size, instrument.freeze_quantity):
                orders.append(PlannedOrder(
                    underlying=plan["underlying"], client_id=client_id, broker=position["broker"], leg_no=int(position["leg_no"]),
                    slice_no=len(orders) + 1, transaction_type=side, option_type=position["option_type"],
                    strike=Decimal(str(position["strike"])), expiry=expiry, tradingsymbol=symbol, lots=lots,
                    lot_size=lot_size, quantity=lots * lot_size, order_type=leg.get("order_type", "LIMIT"), price=price,
                    tag=order_tag(ref.sort_key, client_id, int(position["leg_no"]), len(orders) + 1),
                ))
        return orders

    def _risk_refusal(self, ref: ExecutionRef, allocation: dict, orders: list[PlannedOrder]) -> str | None:
        limits = allocation.get("risk_limits") or {}
        if limits.get("max_daily_trades") is not None:
            today, _ = self.repository.query_prefix(ref.user_id, f"ORDER#{ref.execution_date.replace('-', '')}#",
                                                    filters={"strategy_id": ref.strategy_id, "client_id": orders[0].client_id})
            sent = sum(1 for item in today if item.get("status") != "REJECTED")
            if sent + len(orders) > int(limits["max_daily_trades"]):
                return f"max_daily_trades {limits['max_daily_trades']}: {sent} sent today and {len(orders)} more planned"
        if limits.get("max_position_value") is not None:
            value = sum((o.price or Decimal(0)) * o.quantity for o in orders)
            if value > Decimal(str(limits["max_position_value"])):
                return f"max_position_value {limits['max_position_value']}: these orders are worth {value}"
        return None

    # -- sending -------------------------------------------------------------------------------
    def _place(self, ref: ExecutionRef, allocation: dict, order: PlannedOrder) -> dict[str, Any]:
        key = order_key(ref.execution_date, order.tag)
        try:
            self.repository.commit([db.put_new(self._item(ref, order, "INTENT"), Conflict("intent exists"))])
            known = None
        except Conflict:
            known = self.repository.get(ref.user_id, key)
            if known and known.get("status") not in ("INTENT",):
                return _outcome(known)
        try:
            broker = self.broker_for(ref.user_id, order.client_id, order.broker, allocation.get("mode", "PAPER"))
        except Exception as error:
            return self._record(ref, order, status="FAILED", reason=str(error))
        placed = None
        if known is not None:
            placed = next(iter(broker.orders_by_tag(order.tag)), None)  # sent before, by a run that did not finish
        if placed is None:
            try:
                placed = broker.place_order(self._request(order))
            except Exception as error:
                # A timeout may hide an order the broker accepted: its tag says whether it did.
                placed = next(iter(_safely(lambda: broker.orders_by_tag(order.tag))), None)
                if placed is None:
                    return self._record(ref, order, status="FAILED", reason=f"{type(error).__name__}: {error}")
        return self._record(ref, order, status=placed.status, broker_order=placed)

    def _request(self, order: PlannedOrder) -> OrderRequest:
        return OrderRequest(
            tradingsymbol=order.tradingsymbol, underlying=order.underlying, expiry=order.expiry.date, strike=order.strike,
            option_type=order.option_type, transaction_type=order.transaction_type, quantity=order.quantity,
            order_type=order.order_type, price=order.price, tag=order.tag,
        )

    def _item(self, ref: ExecutionRef, order: PlannedOrder, status: str) -> dict[str, Any]:
        return {
            keys.PK: ref.user_id, keys.SK: order_key(ref.execution_date, order.tag), "entity_type": "ORDER",
            "strategy_id": ref.strategy_id, "execution_key": ref.sort_key, "execution_type": ref.execution_type,
            "underlying": order.underlying,
            "client_id": order.client_id, "broker": order.broker, "leg_no": order.leg_no, "slice_no": order.slice_no,
            "lots": order.lots, "lot_size": order.lot_size, "quantity": order.quantity,
            "transaction_type": order.transaction_type, "option_type": order.option_type, "strike": order.strike,
            "expiry": order.expiry.date.isoformat(), "expiry_type": order.expiry.type, "tradingsymbol": order.tradingsymbol,
            "order_type": order.order_type, "price": order.price, "tag": order.tag, "status": status,
            "placed_at": utc_iso(self.clock.now()),
        }

    def _record(self, ref, order: PlannedOrder, status: str, reason: str | None = None, broker_order: BrokerOrder | None = None) -> dict:
        item = self._item(ref, order, status)
        if reason:
            item["reason"] = reason
        if broker_order is not None:
            item["broker_order_id"] = broker_order.order_id
            item["fill_price"] = broker_order.average_price
            item["status_message"] = broker_order.status_message
        self.repository.commit([db.put(item)])
        return _outcome(item)


def _outcome(item: dict) -> dict[str, Any]:
    return {key: item.get(key) for key in ("client_id", "leg_no", "tag", "status", "quantity", "transaction_type",
                                           "fill_price", "broker_order_id", "reason")}


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
