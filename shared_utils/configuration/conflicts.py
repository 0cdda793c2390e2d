"""The refusals of the configuration plane, in one place: the services raise them, and the store
raises them when a condition it checks at write time no longer holds."""

from __future__ import annotations

from pydantic import BaseModel

from shared_utils.domain.errors import Conflict, InvalidInput

# A body may carry the entity's identity (a GET body sent back); it is checked, never applied.
IDENTITY_FIELDS: set[str] = {"basket_id", "strategy_id", "leg_no", "client_id", "version"}


def check_identity(request: BaseModel, **path_values: object) -> None:
    """An update body may carry the entity's identity (a GET body sent back); it must be this one."""
    for name, expected in path_values.items():
        sent = getattr(request, name, None)
        if sent is not None and sent != expected:
            raise InvalidInput.at(name, f"the body says {sent!r} but this is {expected!r}")


def check_version(sent: int | None, stored: int, what: str) -> None:
    if sent is not None and sent != stored:
        raise Conflict(
            f"{what} is at version {stored}, not {sent}; read it again and reapply your change"
        )


def stale(what: str) -> Conflict:
    return Conflict(f"{what} was changed by another request; read it again and reapply your change")


def account_registered(client_id: str) -> Conflict:
    return Conflict(f"broker account {client_id} is already registered")


def account_in_use(client_id: str) -> Conflict:
    return Conflict(
        f"broker account {client_id} is allocated to strategies; delete those allocations first"
    )


def account_gone(client_id: str) -> InvalidInput:
    return InvalidInput.at("client_id", f"broker account {client_id} no longer exists")


def id_collision(entity: str) -> Conflict:
    return Conflict(f"{entity} id collision; retry")


def basket_changed(basket_id: str) -> Conflict:
    return Conflict(f"basket {basket_id} changed; retry")


def leg_exists(leg_no: int) -> Conflict:
    return Conflict(f"leg {leg_no} already exists in this strategy")


def allocation_exists(strategy_id: str, client_id: str) -> Conflict:
    return Conflict(f"strategy {strategy_id} already has an allocation to {client_id}")
