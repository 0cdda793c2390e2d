"""A record of the engine as a table item and back: the record's fields are the item's attributes;
the adapter adds the key, `entity_type` and the index attributes, and fills the record's opaque
`key` from the item's sort key when it reads one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared_utils.adapters.dynamodb import keys
from shared_utils.engine.records import Found, Unreadable

R = TypeVar("R", bound=BaseModel)


def attributes(record: BaseModel) -> dict[str, Any]:
    """What the record stores: every field it was given (see engine/records.py), never its key."""
    return record.model_dump(mode="python", exclude={"key"})


def item_of(record: BaseModel, key: str, entity_type: str, **index: str) -> dict[str, Any]:
    return {**attributes(record), keys.SK: key, "entity_type": entity_type, **index}


def record_of(model: type[R], item: dict[str, Any]) -> R:
    return model.model_validate({**item, "key": item[keys.SK]})


def records_of(
    model: type[R],
    items: Iterable[dict[str, Any]],
    read: Callable[[type[R], dict[str, Any]], R] = record_of,
) -> Found[R]:
    """Each item as its record, one by one: an item that does not read is handed back as
    Unreadable, never raised, so the others still reach the caller."""
    records: list[R] = []
    unreadable: list[Unreadable] = []
    for item in items:
        try:
            records.append(read(model, item))
        except (ValidationError, KeyError) as error:
            unreadable.append(
                Unreadable(str(item.get(keys.PK, "?")), str(item.get(keys.SK, "?")), _why(error))
            )
    return Found(records, unreadable)


def _why(error: ValidationError | KeyError) -> str:
    if isinstance(error, KeyError):
        return f"no {error}"
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    )
