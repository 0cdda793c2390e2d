"""What every model of the configuration plane shares: the limits, the API's number and time types,
and the two bases (what a trader sends, what is read back from the table)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    StrictBool,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError

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


NOT_NULL = "must not be null; leave the field out to not send it"


def _not_null(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", NOT_NULL)
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
# An id a body names (echoed back, or the basket a strategy goes in): trimmed like every string,
# so one of only whitespace is empty and refused rather than stored as the id "".
EntityId = Annotated[str, Field(min_length=1, max_length=128)]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


class ApiModel(BaseModel):
    """What a trader sends. A field sent as null is refused unless null clears it (`null_clears`)
    or null is what leaving it out stores: a null taken anywhere else would be silently read as
    something that was not sent (a multiplier of 1, a required field's absence)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    null_clears: ClassVar[frozenset[str]] = frozenset()
    # Left out, these are worked out from others (is_intra_day from product, a leg's underlying
    # from its strategy's): a null would be read as that, not as what was sent.
    derived_when_left_out: ClassVar[frozenset[str]] = frozenset()
    # A nested object sent in an update is merged into the stored one (its fields sent change).
    # One whose fields depend on a choice (a strike method, an allocation type) names that field:
    # another choice replaces the object whole, since the old choice's values mean nothing to it.
    chosen_by: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _drop_server_owned(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        owned = SERVER_OWNED_FIELDS - set(cls.model_fields)
        data = {key: value for key, value in data.items() if key not in owned}
        if cls.model_config.get("extra") == "ignore":
            # Read back (a stored entity, a plan's leg): the platform's own dump, whose None is a
            # field left out, so no nested model takes it for a trader's null.
            return _without_nulls(data)
        nulls = [
            InitErrorDetails(
                type=PydanticCustomError("not_null", NOT_NULL), loc=(name,), input=None
            )
            for name, value in data.items()
            if value is None and name in cls.model_fields and not cls._takes_null(name)
        ]
        if nulls:
            raise ValidationError.from_exception_data(cls.__name__, nulls)
        return data

    @classmethod
    def _takes_null(cls, name: str) -> bool:
        """Null clears the field, or is what leaving it out stores (what a GET shows, so a body read
        back can be sent as it is). A null that would be read as another value (a multiplier of 1,
        a required field) is refused."""
        if name in cls.null_clears:
            return True
        return name not in cls.derived_when_left_out and cls.model_fields[name].default is None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The document says null only where null is taken: an optional field is typed `X | None`
        for the code, but a trader leaves it out."""
        schema = handler(core_schema)
        if cls.model_config.get("extra") == "ignore":
            return schema
        for name, field_schema in handler.resolve_ref_schema(schema).get("properties", {}).items():
            options = field_schema.get("anyOf")
            if not options or (name in cls.model_fields and cls._takes_null(name)):
                continue
            kept = [option for option in options if option.get("type") != "null"]
            if len(kept) == 1:
                # The field's own description and default say more than the type's.
                own = {key: value for key, value in field_schema.items() if key != "anyOf"}
                field_schema.clear()
                field_schema.update({**kept[0], **own})
            else:
                field_schema["anyOf"] = kept
        return schema


class StoredModel(BaseModel):
    """What is read back from the table: extra attributes (keys, index attributes) are not fields."""

    model_config = ConfigDict(extra="ignore")
