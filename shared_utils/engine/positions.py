"""What each strategy holds, per account and leg: the platform's own positions, and their rules.

A position changes in the same transaction as the order whose fill it nets, and that order then
remembers it was applied, so a fill counts once however often it is recorded (a retry, a later
reconciliation). While its quantity is not zero the position is among the open positions that the
stop-loss watch reads; at zero it leaves them.

Closing is claimed: an exit, a stop loss or the intraday square-off marks the position with its
execution key before it sends a closing order, so two of them in the same minute never both close
it (which would turn a short into a long). A close that did not fill gives the claim back. Claims
move the position's version, so a fill netted from an older read is netted again, never written
over a claim.

This module holds the rules (netting, P&L, expiry, settlement) over the `Position` record; the
`PositionStore` it names keeps them (on the table: adapters/dynamodb/positions.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from shared_utils.domain.clock import ist_date, utc_iso
from shared_utils.domain.enums import ExchangeClose, OrderStatus, Side
from shared_utils.engine.ports import PositionLedger
from shared_utils.engine.records import Fill, Found, OrderRecord, Position, Settlement


class PositionStore(PositionLedger, Protocol):
    """Everything the engine asks of the positions: the executor's ledger, and what the watch, the
    reconciliation and the market refresh read and change."""

    def open_everywhere(self) -> Found[Position]:
        """Every open position of every user (a number of requests that does not grow with users),
        and the items that did not read as one."""
        ...

    def release_closed_by(self, order: Fill) -> None:
        """Give back the claim the closing order `order` held on the position it was to close."""
        ...


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


def apply_fill(current: Position | None, fill: Fill, at: datetime) -> tuple[Position, Decimal]:
    """What a fill does to the position it nets into (`current`, None if there is none yet): the
    position after it, and the P&L this fill realised.

    A fill that opens the position from flat hands it the opening order's terms (how it may be
    closed, the allocation's limits) and starts a new trade. A close's claim survives a fill that
    leaves the position open on the same side; any other fill ends it."""
    if fill.fill_price is None:
        raise ValueError(f"the fill of {fill.tag} has no price")
    today = ist_date(at)
    held = current.quantity if current else 0
    quantity, average, realised = net_fill(
        held,
        current.average_price if current else Decimal(0),
        fill.quantity * fill.transaction_type.sign,
        fill.fill_price,
    )
    opening = held == 0
    keeps_claim = (
        current is not None
        and current.closing_by is not None
        and quantity != 0
        and not opening
        and (quantity > 0) == (held > 0)
    )
    changes: dict[str, object] = {
        "user_id": fill.user_id,
        "strategy_id": fill.strategy_id,
        "client_id": fill.client_id,
        "broker": fill.broker,
        "leg_no": fill.leg_no,
        "underlying": fill.underlying,
        "expiry": fill.expiry,
        "expiry_type": fill.expiry_type,
        "strike": fill.strike,
        "option_type": fill.option_type,
        "lot_size": fill.lot_size,
        "tradingsymbol": fill.tradingsymbol,
        "quantity": quantity,
        "average_price": average,
        "realised_pnl": (current.realised_pnl if current else Decimal(0)) + realised,
        "realised_today": (
            current.realised_today if current and current.realised_on == today else Decimal(0)
        )
        + realised,
        "realised_on": today,
        "trade_realised": (Decimal(0) if opening or current is None else current.trade_realised)
        + realised,
        "updated_at": utc_iso(at),
        "version": (current.version if current else 0) + 1,
    }
    if not keeps_claim:
        changes.update(closing_by=None, closing_since=None)
    if opening:
        terms = fill if isinstance(fill, OrderRecord) else None
        changes.update(
            product=terms.product if terms else None,
            mode=terms.mode if terms else None,
            stop_loss=terms.stop_loss if terms else None,
            stop_loss_type=terms.stop_loss_type if terms else None,
            max_daily_loss=terms.max_daily_loss if terms else None,
            opened_at=utc_iso(at),
            opened_by=fill.execution_key,
        )
    position = current.model_copy(update=changes) if current else Position.model_validate(changes)
    return position, realised


def settlement(position: Position, price: Decimal, reason: str, at: datetime) -> Settlement:
    """The exchange's close of an expired contract at `price`, without an order."""
    return Settlement(
        user_id=position.user_id,
        strategy_id=position.strategy_id,
        client_id=position.client_id,
        broker=position.broker,
        leg_no=position.leg_no,
        underlying=position.underlying,
        expiry=position.expiry,
        expiry_type=position.expiry_type,
        strike=position.strike,
        option_type=position.option_type,
        lot_size=position.lot_size,
        tradingsymbol=position.tradingsymbol,
        execution_key=ExchangeClose.SETTLEMENT,
        tag=ExchangeClose.SETTLEMENT,
        reason=reason,
        quantity=abs(position.quantity),
        transaction_type=Side.SELL if position.quantity > 0 else Side.BUY,
        fill_price=price,
        status=OrderStatus.COMPLETE,
        placed_at=utc_iso(at),
    )


def unrealised(position: Position, last: Decimal) -> Decimal:
    return (last - position.average_price) * position.quantity


def day_pnl(positions: list[Position], last_prices: dict[str, Decimal], today: date) -> Decimal:
    """Today's P&L of a set of positions: realised today, plus open positions marked at the last
    price (`last_prices` by position key)."""
    total = Decimal(0)
    for position in positions:
        if position.realised_on == today:
            total += position.realised_today
        if position.quantity and position.key in last_prices:
            total += unrealised(position, last_prices[position.key])
    return total


def expired(position: Position, now: datetime) -> bool:
    return position.expiry < ist_date(now)
