"""A record of the engine as a table item and back: the record's fields are the item's attributes;
the adapter adds the key, `entity_type` and the index attributes, and fills the record's opaque
`key` from the item's sort key when it reads one."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from shared_utils.adapters.dynamodb import keys

R = TypeVar("R", bound=BaseModel)


def attributes(record: BaseModel) -> dict[str, Any]:
    """What the record stores: every field it was given (see engine/records.py), never its key."""
    return record.model_dump(mode="python", exclude={"key"})


def item_of(record: BaseModel, key: str, entity_type: str, **index: str) -> dict[str, Any]:
    return {**attributes(record), keys.SK: key, "entity_type": entity_type, **index}


def record_of(model: type[R], item: dict[str, Any]) -> R:
    return model.model_validate({**item, "key": item[keys.SK]})
