"""What every model of the configuration plane shares: the limits, the API's number and time types,
and the two bases (what a trader sends, what is read back from the table)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared_utils.domain.enums import WEEKDAYS, EntityStatus, Weekday
from shared_utils.domain.instruments import built_in_catalog

MAX_STRATEGIES_PER_BASKET = 10
MAX_LEGS_PER_STRATEGY = 6
MAX_ALLOCATIONS_PER_STRATEGY = 20
SESSION_OPEN, SESSION_CLOSE = "09:15", "15:30"

# Sent by clients that echo back what they read; never taken from a body.
SERVER_OWNED_FIELDS = frozenset(
    {
        "user_id",
        "created_at",
        "updated_at",
        "created_by_type",
        "creator_user_id",
        "performance_metrics",
        "calculated_totals",
        "execution_schedule",
        "last_used",
        "strategy_count",
        "deployable_capital",
        "broker",
        "mode",
        "legs",
        "allocations",
        "strategies",
    }
)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def number_schema(**bounds: float) -> WithJsonSchema:
    """Decimals are documented as JSON numbers, and only a JSON number is taken (see `JSON_NUMBER`)."""
    return WithJsonSchema({"type": "number", **{k: float(v) for k, v in bounds.items()}})


def _only_a_number(value: Any) -> Any:
    """A price, an amount or a percentage is a JSON number: "500000" or true is refused, not read as
    one. A Decimal passes too: it is what the table hands back, never what JSON parses to."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError(
            "decimal_type", "Input should be a number, not {kind}", _kind(value)
        )
    return value


def _only_a_whole_number(value: Any) -> Any:
    """Lots, counts and leg numbers are JSON integers: "3", 3.0 and true are refused. A whole
    Decimal passes (the table stores every number as one) and becomes an int."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError(
            "int_type", "Input should be a whole number, not {kind}", _kind(value)
        )
    return value


def _kind(value: Any) -> dict[str, str]:
    kinds = {
        bool: "a boolean",
        str: "a string",
        float: "a fraction",
        type(None): "null",
        list: "a list",
        dict: "an object",
    }
    return {"kind": next((name for t, name in kinds.items() if isinstance(value, t)), "that")}


JSON_NUMBER = BeforeValidator(_only_a_number)
AS_JSON_NUMBER = PlainSerializer(_json_number, return_type=int | float, when_used="json")
# An integer field: `Annotated[int, Field(...), WHOLE]`, in that order so that the document shows
# the bounds. Pydantic's StrictInt would refuse the table's Decimals when a stored entity is read
# back through the same model.
WHOLE = BeforeValidator(_only_a_whole_number)
WholeNumber = Annotated[int, WHOLE]
Flag = StrictBool
Version = Annotated[int, Field(ge=1, description="The version read; a stale one is a 409"), WHOLE]

Sent = TypeVar("Sent")


def _not_null(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if value is None:
        raise PydanticCustomError(
            "not_null", "may be left out but not null; send a value to change it"
        )
    return handler(value)


# A field of a change (PUT) that may be left out, but is never null: the change would otherwise merge
# a None into the stored entity. Left out, it is None (a default is not validated); sent, it is
# validated as the field's own type, which is what the document shows. Type checkers see the None.
if TYPE_CHECKING:
    Change = Annotated[Sent | None, "may be left out, never null"]
else:
    Change = Annotated[Sent, WrapValidator(_not_null)]

Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e13"), decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(minimum=0, maximum=1e13),
]
PositiveMoney = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("1e13"), decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(exclusiveMinimum=0, maximum=1e13),
]
Points = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("100000"), decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(minimum=0, maximum=100000),
]
Percent = Annotated[
    Decimal,
    Field(gt=0, le=100, decimal_places=2, allow_inf_nan=False),
    JSON_NUMBER,
    AS_JSON_NUMBER,
    number_schema(exclusiveMinimum=0, maximum=100),
]
# Performance metrics are counts and sums an execution adds; always JSON numbers.
Metrics = dict[str, Annotated[Decimal, PlainSerializer(_json_number, return_type=int | float)]]


def upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _session_time(value: str) -> str:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError("must be a 24-hour IST time HH:MM, for example 09:30")
    if not SESSION_OPEN <= value <= SESSION_CLOSE:
        raise ValueError(f"must be inside the market session {SESSION_OPEN}-{SESSION_CLOSE} IST")
    return value


def _known_underlying(value: str) -> str:
    catalog = built_in_catalog()
    if value not in catalog:
        raise ValueError(f"unknown underlying {value!r}; one of {', '.join(catalog.underlyings)}")
    return value


def _unique_days(days: list[Weekday]) -> list[Weekday]:
    if len(set(days)) != len(days):
        raise ValueError("each weekday may appear once")
    return sorted(days, key=WEEKDAYS.index)


SessionTime = Annotated[str, AfterValidator(_session_time)]
TradingDay = Annotated[Weekday, BeforeValidator(upper)]
Weekdays = Annotated[
    list[TradingDay], Field(min_length=1, max_length=5), AfterValidator(_unique_days)
]
Underlying = Annotated[
    str,
    BeforeValidator(upper),
    AfterValidator(_known_underlying),
    WithJsonSchema(
        {
            "type": "string",
            "enum": built_in_catalog().underlyings,
            "description": "From the instrument list",
        }
    ),
]
Status = Annotated[EntityStatus, BeforeValidator(upper)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=1000)]
ClientId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$",
        description="The broker account's client id, as the broker spells it",
    ),
]
Timestamp = Annotated[str, Field(description="UTC ISO-8601")]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_server_owned(cls, data: Any) -> Any:
        if isinstance(data, dict):
            owned = SERVER_OWNED_FIELDS - set(cls.model_fields)
            return {key: value for key, value in data.items() if key not in owned}
        return data


class StoredModel(BaseModel):
    """What is read back from the table: extra attributes (keys, index attributes) are not fields."""

    model_config = ConfigDict(extra="ignore")
