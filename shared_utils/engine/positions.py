"""What each strategy holds, per account and leg: the platform's own positions.

A position changes in the same transaction as the order whose fill it nets, and that order then
remembers it was applied, so a fill counts once however often it is recorded (a retry, a later
reconciliation). While its quantity is not zero the position sits in the sharded OPEN_POSITIONS
index that the stop-loss watch reads; at zero it leaves it.

Closing is claimed: an exit, a stop loss or the intraday square-off marks the position with its
execution key before it sends a closing order, so two of them in the same minute never both close
it (which would turn a short into a long). A close that did not fill gives the claim back. Claims
move the position's version, so a fill netted from an older read is netted again, never written
over a claim.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys, metrics
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import Clock, ist_date, utc_iso
from shared_utils.domain.errors import Conflict
from shared_utils.engine import performance

# What an opening order hands on to the position it opens: how it may be closed, and the limits
# the account's allocation set when it was entered.
TERMS = ("product", "mode", "stop_loss", "stop_loss_type", "max_daily_loss")
CONTRACT = (
    "strategy_id",
    "client_id",
    "broker",
    "leg_no",
    "underlying",
    "expiry",
    "expiry_type",
    "strike",
    "option_type",
    "lot_size",
    "tradingsymbol",
)
ATTEMPTS = 8


class AlreadyApplied(Conflict):
    pass


def net_fill(
    quantity: int, average: Decimal, signed: int, price: Decimal
) -> tuple[int, Decimal, Decimal]:
    """Net a fill of `signed` units at `price` into a holding: (quantity, average price, P&L realised).
    Adding moves the average; reducing realises the difference; crossing zero opens the rest at price."""
    if quantity == 0:
        return signed, price, Decimal(0)
    if (quantity > 0) == (signed > 0):
        total = quantity + signed
        return (
            total,
            ((average * abs(quantity) + price * abs(signed)) / abs(total)).quantize(
                Decimal("0.0001")
            ),
            Decimal(0),
        )
    closing = min(abs(quantity), abs(signed))
    per_unit = (price - average) if quantity > 0 else (average - price)
    remaining = quantity + signed
    kept = average if remaining and (remaining > 0) == (quantity > 0) else price
    return remaining, kept, per_unit * closing


@dataclass
class PositionBook:
    repository: ConfigurationRepository
    clock: Clock

    # -- fills ---------------------------------------------------------------------------------
    def record_fill(self, order: dict[str, Any]) -> dict[str, Any] | None:
        """Store `order` (filled: status COMPLETE with fill_price) and net it into its position,
        both or neither. Returns the position, or None when this fill was applied before."""
        for _ in range(ATTEMPTS):
            user_id = order[keys.PK]
            key = keys.position(
                order["strategy_id"],
                order["client_id"],
                int(order["leg_no"]),
                order["tradingsymbol"],
            )
            current = self.repository.get(user_id, key)
            position = self._netted(current, order, key)
            realised_now = position.pop("realised_now")
            # A filled order is no longer working: it leaves the working-orders index.
            marked = {
                **{k: v for k, v in order.items() if k not in (keys.GSI2_PK, keys.GSI2_SK)},
                "position_applied": True,
            }
            writes = [
                db.Write(
                    "Put",
                    {keys.PK: user_id, keys.SK: order[keys.SK]},
                    item=marked,
                    condition="attribute_not_exists(position_applied)",
                    on_condition_failure=AlreadyApplied("applied"),
                ),
                db.put_versioned(position, current["version"], Conflict("position moved"))
                if current
                else db.put_new(position, Conflict("position opened meanwhile")),
            ]
            if realised_now or position["quantity"] == 0:
                writes += metrics.adds(
                    performance.position_closed(
                        user_id,
                        order["strategy_id"],
                        order["client_id"],
                        realised_now,
                        position["trade_realised"] if position["quantity"] == 0 else None,
                    )
                )
            try:
                self.repository.commit(writes)
                return position
            except AlreadyApplied:
                return None
            except Conflict:
                continue
        raise Conflict(
            f"position {key} kept changing; the fill of {order['tag']} is not yet applied"
        )

    def _netted(self, current: dict | None, order: dict, key: str) -> dict[str, Any]:
        today = ist_date(self.clock.now()).isoformat()
        signed = int(order["quantity"]) * (1 if order["transaction_type"] == "BUY" else -1)
        price = Decimal(str(order["fill_price"]))
        held = int(current["quantity"]) if current else 0
        quantity, average, realised = net_fill(
            held, Decimal(str(current["average_price"])) if current else Decimal(0), signed, price
        )
        opening = held == 0
        base = current or {}
        position = {
            **{
                k: v
                for k, v in base.items()
                if k not in (keys.GSI2_PK, keys.GSI2_SK, "closing_by", "closing_since")
            },
            keys.PK: order[keys.PK],
            keys.SK: key,
            "entity_type": "POSITION",
            **{k: order.get(k) for k in CONTRACT},
            "quantity": quantity,
            "average_price": average,
            "realised_pnl": Decimal(str(base.get("realised_pnl", 0))) + realised,
            "realised_today": (
                Decimal(str(base.get("realised_today", 0)))
                if base.get("realised_on") == today
                else Decimal(0)
            )
            + realised,
            "realised_on": today,
            "trade_realised": (
                Decimal(0) if opening else Decimal(str(base.get("trade_realised", 0)))
            )
            + realised,
            "updated_at": utc_iso(self.clock.now()),
            "version": int(base.get("version", 0)) + 1,
            "realised_now": realised,
        }
        if opening:
            position.update(
                {k: order.get(k) for k in TERMS},
                opened_at=utc_iso(self.clock.now()),
                opened_by=order["execution_key"],
            )
        if quantity:
            position.update(keys.open_position_index(order[keys.PK], order["strategy_id"], key))
            if base.get("closing_by") and (quantity > 0) == (held > 0) and not opening:
                position.update(
                    closing_by=base["closing_by"], closing_since=base.get("closing_since")
                )
        return position

    def settle(
        self, position: dict[str, Any], price: Decimal, reason: str
    ) -> dict[str, Any] | None:
        """Close a position without an order (an expired contract settled by the exchange)."""
        settlement = {
            keys.PK: position[keys.PK],
            keys.SK: f"SETTLEMENT#{position[keys.SK]}#{position['expiry']}",
            "entity_type": "SETTLEMENT",
            **{k: position.get(k) for k in CONTRACT},
            "execution_key": "SETTLEMENT",
            "tag": "SETTLEMENT",
            "reason": reason,
            "quantity": abs(int(position["quantity"])),
            "transaction_type": "SELL" if int(position["quantity"]) > 0 else "BUY",
            "fill_price": price,
            "status": "COMPLETE",
            "placed_at": utc_iso(self.clock.now()),
        }
        return self.record_fill(settlement)

    # -- closing claims ------------------------------------------------------------------------
    def claim(self, position: dict[str, Any], execution_key: str) -> bool:
        try:
            self.repository.commit(
                [
                    db.update(
                        position[keys.PK],
                        position[keys.SK],
                        "SET closing_by = :key, closing_since = :now, #version = #version + :one",
                        "quantity <> :zero AND (attribute_not_exists(closing_by) OR closing_by = :key)",
                        Conflict("claimed"),
                        names={"#version": "version"},
                        values={
                            ":key": execution_key,
                            ":now": utc_iso(self.clock.now()),
                            ":zero": 0,
                            ":one": 1,
                        },
                    )
                ]
            )
            return True
        except Conflict:
            return False

    def release(self, user_id: str, position_key: str, execution_key: str) -> None:
        try:
            self.repository.commit(
                [
                    db.update(
                        user_id,
                        position_key,
                        "REMOVE closing_by, closing_since SET #version = #version + :one",
                        "closing_by = :key",
                        Conflict("not ours"),
                        names={"#version": "version"},
                        values={":key": execution_key, ":one": 1},
                    )
                ]
            )
        except Conflict:
            pass  # claimed by someone else, or the position went flat: nothing of ours to give back

    # -- reading -------------------------------------------------------------------------------
    def held(
        self, user_id: str, strategy_id: str | None = None, client_id: str | None = None
    ) -> list[dict[str, Any]]:
        prefix = keys.positions_of(strategy_id, client_id) if strategy_id else "POSITION#"
        items, _ = self.repository.query_prefix(user_id, prefix)
        return [item for item in items if client_id is None or item["client_id"] == client_id]

    def open_everywhere(self, shards: range = range(keys.SCHEDULE_SHARDS)) -> list[dict[str, Any]]:
        """Every open position of every user: one query per shard."""
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            found = pool.map(
                lambda shard: self.repository.query_index(
                    keys.GSI2, keys.GSI2_PK, keys.open_positions(shard)
                ),
                shards,
            )
        return [item for items in found for item in items]


def unrealised(position: dict[str, Any], last: Decimal) -> Decimal:
    return (last - Decimal(str(position["average_price"]))) * int(position["quantity"])


def day_pnl(
    positions: list[dict[str, Any]], last_prices: dict[str, Decimal], today: date
) -> Decimal:
    """Today's P&L of a set of positions: realised today, plus open positions marked at the last price."""
    total = Decimal(0)
    for position in positions:
        if position.get("realised_on") == today.isoformat():
            total += Decimal(str(position.get("realised_today", 0)))
        if int(position["quantity"]) and position[keys.SK] in last_prices:
            total += unrealised(position, last_prices[position[keys.SK]])
    return total


def expired(position: dict[str, Any], now: datetime) -> bool:
    return date.fromisoformat(position["expiry"]) < ist_date(now)
