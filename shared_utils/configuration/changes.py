"""What an update (PUT) makes of the stored entity: the fields sent change, and the rest is kept,
nested objects included. One rule for every entity, so no service can replace a nested object whole
by accident (one partial `risk_limits` used to remove the other three limits)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared_utils.configuration.conflicts import IDENTITY_FIELDS
from shared_utils.domain.models import ApiModel


def changed(current: BaseModel, change: ApiModel) -> dict[str, Any]:
    """The stored entity with the change applied, to be validated whole as the stored model.

    A nested object of independent settings (risk limits, execution settings, position sizing) is
    merged: its fields sent change, an explicit null clears only that one, the others are kept. An
    object that is one choice (`replaced_whole`: a strike selection, an allocation's sizing) is
    taken as sent, since its fields only mean something together."""
    return _merged(current.model_dump(), change, IDENTITY_FIELDS)


def _merged(stored: dict[str, Any], sent: BaseModel, skipped: set[str]) -> dict[str, Any]:
    merged = dict(stored)
    for name in sent.model_fields_set - skipped:
        value, kept = getattr(sent, name), stored.get(name)
        if isinstance(value, ApiModel) and not value.replaced_whole and isinstance(kept, dict):
            merged[name] = _merged(kept, value, set())
        else:
            merged[name] = sent.model_dump(include={name})[name]
    return merged
