"""The paper broker's books in the table: one account's orders and positions, per user.

Items: `PAPER_ORDER#<client_id>#<order_id>` and `PAPER_POSITION#<client_id>#<tradingsymbol>` in the
user's partition, so the books survive restarts and one user never sees another's. Every write is
conditional; a condition that fails raises the error the broker named for it, so the broker tells
"this order moved" from "the position moved" by identity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.broker import BrokerOrder, BrokerPosition
from shared_utils.domain.errors import DomainError


class PaperBooks:
    def __init__(self, repository: ConfigurationRepository, user_id: str, client_id: str):
        self.repository, self.user_id, self.client_id = repository, user_id, client_id

    # -- reads ---------------------------------------------------------------------------------
    def order(self, order_id: str) -> BrokerOrder | None:
        item = self.repository.get(self.user_id, self._order_key(order_id))
        return BrokerOrder.model_validate(item) if item else None

    def orders(self, tag: str | None = None) -> list[BrokerOrder]:
        """The account's whole order book, or the orders that carry `tag`."""
        items, _ = self.repository.query_prefix(
            self.user_id,
            self._order_key(""),
            filters=None if tag is None else {"tag": tag},
        )
        return [BrokerOrder.model_validate(item) for item in items]

    def position(self, tradingsymbol: str) -> BrokerPosition | None:
        item = self.repository.get(self.user_id, self._position_key(tradingsymbol))
        return BrokerPosition.model_validate(item) if item else None

    def positions(self) -> list[BrokerPosition]:
        items, _ = self.repository.query_prefix(self.user_id, self._position_key(""))
        return [BrokerPosition.model_validate(item) for item in items]

    def funds(self) -> Decimal | None:
        """The paper funds the trader gave the account, if any."""
        account = self.repository.get(self.user_id, keys.broker_account(self.client_id)) or {}
        funds = account.get("paper_funds")
        return None if funds is None else Decimal(str(funds))

    # -- writes --------------------------------------------------------------------------------
    def add_order(self, order: BrokerOrder, on_exists: DomainError) -> None:
        self.repository.commit([db.put_new(self._order_item(order), on_exists)])

    def replace_order(
        self, order: BrokerOrder, expected_version: int, on_stale: DomainError
    ) -> None:
        self.repository.commit(
            [db.put_versioned(self._order_item(order), expected_version, on_stale)]
        )

    def record_fill(
        self,
        order: BrokerOrder,
        expected_order_version: int,
        on_order_moved: DomainError,
        position: BrokerPosition,
        expected_position_version: int | None,
        on_position_moved: DomainError,
    ) -> None:
        """The filled order and the position it nets into, both or neither. A position read as
        absent (`expected_position_version` None) must still be absent."""
        position_item = self._position_item(position)
        position_write = (
            db.put_new(position_item, on_position_moved)
            if expected_position_version is None
            else db.put_versioned(position_item, expected_position_version, on_position_moved)
        )
        self.repository.commit(
            [
                db.put_versioned(self._order_item(order), expected_order_version, on_order_moved),
                position_write,
            ]
        )

    # -- items ---------------------------------------------------------------------------------
    def _order_key(self, order_id: str) -> str:
        return f"PAPER_ORDER#{self.client_id}#{order_id}"

    def _position_key(self, tradingsymbol: str) -> str:
        return f"PAPER_POSITION#{self.client_id}#{tradingsymbol}"

    def _order_item(self, order: BrokerOrder) -> dict[str, Any]:
        return {
            keys.PK: self.user_id,
            keys.SK: self._order_key(order.order_id),
            "entity_type": "PAPER_ORDER",
            **order.model_dump(mode="python", exclude_none=True),
            "expiry": order.expiry.isoformat(),
        }

    def _position_item(self, position: BrokerPosition) -> dict[str, Any]:
        return {
            keys.PK: self.user_id,
            keys.SK: self._position_key(position.tradingsymbol),
            "entity_type": "PAPER_POSITION",
            **position.model_dump(mode="python"),
            "expiry": position.expiry.isoformat(),
        }
