"""Pydantic's errors in the API's words: each problem as {field, location, message}, the field a
dotted path and the location where it was sent (body, query or path).

Model-level rules raise "field: message"; that field is joined onto where the model sits, so a
rule that spans fields still names the one a trader has to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared_utils.domain.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)

_FIELD_HEAD = re.compile(
    r"^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z0-9_]+(?:\[\d+\])?)*): (.+)$", re.S
)


def field_details(
    errors: Iterable[Mapping[str, Any]], skip_first: bool = False
) -> list[dict[str, str]]:
    """skip_first: the errors are the resolver's, whose first step says where the field was sent;
    without it, the errors are a body's."""
    details = []
    for problem in errors:
        loc = list(problem.get("loc", ()))
        location = str(loc.pop(0)) if skip_first and loc else "body"
        path = field_path(loc)
        message = str(problem.get("msg", "is invalid")).removeprefix("Value error, ")
        match = _FIELD_HEAD.match(message)
        if match:
            path = join(path, match.group(1))
            message = match.group(2)
        elif problem.get("type") == "missing":
            message = "is required"
        elif problem.get("type") == "extra_forbidden":
            message = "is not a field of this request"
        details.append({"field": path or "body", "location": location, "message": message})
    return details


def field_path(loc: Iterable[Any], prefix: str = "") -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path = join(path, str(part))
    return path


def join(prefix: str, name: str) -> str:
    if not name:
        return prefix
    return f"{prefix}.{name}" if prefix else name


def invalid(details: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput("; ".join(f"{d['field']}: {d['message']}" for d in details), details)


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """Validate data the platform assembled (a stored entity merged with a patch)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(field_details(error.errors(include_url=False))) from None
