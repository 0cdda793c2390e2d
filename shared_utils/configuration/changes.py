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
    object whose fields depend on one choice (`chosen_by`: a strike selection's method, an
    allocation's type) is merged the same way while the choice stays, and taken whole as sent when
    the choice changes. A list or a map (leg overrides by leg) is taken whole."""
    return _merged(current.model_dump(), change, IDENTITY_FIELDS)


def _merged(stored: dict[str, Any], sent: BaseModel, skipped: set[str]) -> dict[str, Any]:
    merged = dict(stored)
    for name in sent.model_fields_set - skipped:
        value, kept = getattr(sent, name), stored.get(name)
        if isinstance(value, ApiModel) and isinstance(kept, dict) and _same_choice(kept, value):
            merged[name] = _merged(kept, value, set())
        else:
            merged[name] = sent.model_dump(include={name})[name]
    return merged


def _same_choice(stored: dict[str, Any], sent: ApiModel) -> bool:
    choice = sent.chosen_by
    return choice is None or stored.get(choice) == getattr(sent, choice)
