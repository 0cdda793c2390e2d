"""The platform's positions in the table: POSITION#strategy#account#leg#tradingsymbol per user.

While its quantity is not zero a position sits in the sparse OPEN_POSITIONS partitions of GSI2,
sharded like the schedule, so the stop-loss watch reads every open position of every user with
SCHEDULE_SHARDS queries; at zero it leaves them. A fill is written in one transaction with the
order (or settlement) that caused it, which is marked `position_applied` under the condition that it
was not before, and with the performance metrics the fill realised: each fill counts once.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Protocol

from shared_utils.adapters.dynamodb import keys, metrics
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.orders import order_item
from shared_utils.adapters.dynamodb.records import item_of, record_of, records_of
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import Clock, utc_iso
from shared_utils.domain.errors import Conflict
from shared_utils.engine import performance
from shared_utils.engine.positions import apply_fill
from shared_utils.engine.records import Fill, Found, OrderRecord, Position, Settlement

ENTITY = "POSITION"
# A fill is netted from a fresh read until no other write moved the position in between.
ATTEMPTS = 8


class AlreadyApplied(Conflict):
    """This fill was netted into its position before."""


class _Holding(Protocol):
    """What names a position: a position itself, or a fill of one."""

    @property
    def user_id(self) -> str: ...
    @property
    def strategy_id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def leg_no(self) -> int: ...
    @property
    def tradingsymbol(self) -> str: ...


def position_key(holding: _Holding) -> str:
    return keys.position(
        holding.strategy_id, holding.client_id, holding.leg_no, holding.tradingsymbol
    )


def position_item(position: Position, key: str) -> dict[str, Any]:
    index = (
        keys.open_position_index(position.user_id, position.strategy_id, key)
        if position.quantity
        else {}
    )
    return item_of(position, key, ENTITY, **index)


def applied_item(fill: Fill, position_key: str) -> dict[str, Any]:
    """The order or settlement that a fill is, as stored once it is netted into its position."""
    if isinstance(fill, Settlement):
        item = item_of(fill, keys.settlement(position_key, fill.expiry), "SETTLEMENT")
    elif not isinstance(fill, OrderRecord) or fill.key is None:
        raise ValueError(f"the fill of {fill.tag} is neither a stored order nor a settlement")
    elif fill.duplicate_of is not None:
        # An extra copy the broker filled: recorded beside ours, in no index of orders to follow.
        item = item_of(fill, fill.key, "ORDER")
    else:
        item = order_item(fill)  # filled: no longer among the working orders
    return {**item, "position_applied": True}


class PositionTable:
    """The engine's PositionStore on the single table."""

    def __init__(self, repository: ConfigurationRepository, clock: Clock):
        self.repository, self.clock = repository, clock

    # -- reading -------------------------------------------------------------------------------
    def held(
        self, user_id: str, strategy_id: str | None = None, client_id: str | None = None
    ) -> Found[Position]:
        prefix = keys.positions_of(strategy_id, client_id) if strategy_id else keys.all_positions()
        items, _ = self.repository.query_prefix(user_id, prefix)
        return records_of(
            Position,
            (item for item in items if client_id is None or item.get("client_id") == client_id),
        )

    def position(self, user_id: str, key: str) -> Position | None:
        item = self.repository.get(user_id, key)
        return record_of(Position, item) if item else None

    def open_everywhere(self) -> Found[Position]:
        items = self.repository.query_index_partitions(
            (keys.GSI2, keys.GSI2_PK, keys.open_positions(shard))
            for shard in range(keys.SCHEDULE_SHARDS)
        )
        return records_of(Position, items)

    # -- fills ---------------------------------------------------------------------------------
    def record_fill(self, fill: Fill) -> Position | None:
        key = position_key(fill)
        for _ in range(ATTEMPTS):
            current = self.position(fill.user_id, key)
            position, realised_now = apply_fill(current, fill, self.clock.now())
            applied, item = applied_item(fill, key), position_item(position, key)
            writes = [
                db.Write(
                    "Put",
                    {keys.PK: fill.user_id, keys.SK: applied[keys.SK]},
                    item=applied,
                    condition="attribute_not_exists(position_applied)",
                    on_condition_failure=AlreadyApplied("applied"),
                ),
                db.put_versioned(item, current.version, Conflict("position moved"))
                if current
                else db.put_new(item, Conflict("position opened meanwhile")),
            ]
            if realised_now or position.quantity == 0:
                writes += metrics.adds(
                    performance.position_closed(
                        fill.user_id,
                        fill.strategy_id,
                        fill.client_id,
                        realised_now,
                        position.trade_realised if position.quantity == 0 else None,
                    )
                )
            try:
                self.repository.commit(writes)
            except AlreadyApplied:
                return None
            except Conflict:
                continue
            return position.model_copy(update={"key": key})
        raise Conflict(f"position {key} kept changing; the fill of {fill.tag} is not yet applied")

    # -- closing claims ------------------------------------------------------------------------
    def claim(self, position: Position, execution_key: str) -> bool:
        try:
            self.repository.commit(
                [
                    db.update(
                        position.user_id,
                        position_key(position),
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
        except Conflict:
            return False
        return True

    def release(self, position: Position, execution_key: str) -> None:
        self._release(position, execution_key)

    def release_closed_by(self, order: Fill) -> None:
        self._release(order, order.execution_key)

    def _release(self, holding: _Holding, execution_key: str) -> None:
        # Claimed by someone else, or the position went flat: nothing of ours to give back.
        with suppress(Conflict):
            self.repository.commit(
                [
                    db.update(
                        holding.user_id,
                        position_key(holding),
                        "REMOVE closing_by, closing_since SET #version = #version + :one",
                        "closing_by = :key",
                        Conflict("not ours"),
                        names={"#version": "version"},
                        values={":key": execution_key, ":one": 1},
                    )
                ]
            )
