"""The rules a trader expects of what they send."""

import copy
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared_utils.domain.models import (
    AdvancedAllocationsRequest,
    AllocationConfig,
    AllocationInput,
    AllocationUpdate,
    BasketCreate,
    BasketUpdate,
    Leg,
    LegInput,
    LegsCreate,
    LegUpdate,
    StrategyCreate,
    StrategyUpdate,
)
from shared_utils.domain.validation import field_details
from tests.journey import ALLOCATIONS, LEGS, STRATEGY


def fields_of(error: ValidationError) -> set[str]:
    return {d["field"] for d in field_details(error.errors())}


@given(st.integers(0, 23), st.integers(0, 59))
def test_entry_time_is_accepted_exactly_inside_the_session(hour, minute):
    text = f"{hour:02d}:{minute:02d}"
    inside = "09:15" <= text <= "15:30"
    refused: ValidationError | None = None
    try:
        StrategyCreate.model_validate({**STRATEGY, "entry_time": text})
    except ValidationError as error:
        refused = error
    if refused is not None:
        assert fields_of(refused) == {"entry_time"}
    accepted = refused is None
    assert accepted == inside


@given(st.text(max_size=8))
def test_anything_not_hh_mm_is_refused(text):
    if (
        len(text) == 5
        and text[2] == ":"
        and text[:2].isdigit()
        and text[3:].isdigit()
        and text.isascii()
    ):
        return
    with pytest.raises(ValidationError):
        StrategyCreate.model_validate({**STRATEGY, "exit_time": text})


def test_the_specs_payloads_are_accepted_exactly_as_written():
    strategy = StrategyCreate.model_validate(STRATEGY)
    assert strategy.is_intra_day is False
    legs = LegsCreate.model_validate(LEGS).legs
    assert [leg.strike_selection_config.method for leg in legs] == [
        "DELTA",
        "STRIKE_DISTANCE",
        "DELTA",
        "STRIKE_DISTANCE",
    ]
    allocations = AdvancedAllocationsRequest.model_validate(ALLOCATIONS).allocations
    assert [a.allocation_config.type for a in allocations] == ["LEG_LEVEL", "LEG_LEVEL"]


def test_is_intra_day_is_derived_from_product():
    body = {k: v for k, v in STRATEGY.items() if k != "is_intra_day"}
    assert (
        StrategyCreate.model_validate(
            {**body, "product": "MIS", "exit_days": ["MONDAY"]}
        ).is_intra_day
        is True
    )
    assert StrategyCreate.model_validate(body).is_intra_day is False


def test_days_are_normalised_and_ordered():
    strategy = StrategyCreate.model_validate({**STRATEGY, "entry_days": ["friday", "Monday"]})
    assert strategy.entry_days == ["MONDAY", "FRIDAY"]


def test_server_owned_fields_are_ignored_and_unknown_ones_refused():
    basket = BasketCreate.model_validate(
        {"basket_name": "b", "initial_capital": 1, "user_id": "x", "created_at": "y"}
    )
    assert not hasattr(basket, "user_id")
    with pytest.raises(ValidationError) as error:
        BasketCreate.model_validate({"basket_name": "b", "initial_capital": 1, "capital": 5})
    assert fields_of(error.value) == {"capital"}


def test_money_keeps_its_decimals_and_refuses_more():
    assert BasketCreate.model_validate(
        {"basket_name": "b", "initial_capital": 1000.25}
    ).initial_capital == Decimal("1000.25")
    with pytest.raises(ValidationError):
        BasketCreate.model_validate({"basket_name": "b", "initial_capital": 1000.255})
    with pytest.raises(ValidationError):
        BasketCreate.model_validate({"basket_name": "b", "initial_capital": float("nan")})


@pytest.mark.parametrize("capital", ["1000.25", "1000", True, None, [1000], {"value": 1}])
def test_money_is_a_json_number_and_nothing_else(capital):
    with pytest.raises(ValidationError) as error:
        BasketCreate.model_validate({"basket_name": "b", "initial_capital": capital})
    assert fields_of(error.value) == {"initial_capital"}


@pytest.mark.parametrize("lots", ["3", 3.0, 2.5, True, None])
def test_lots_are_a_json_integer_and_nothing_else(lots):
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(lots=lots))
    assert fields_of(error.value) == {"lots"}


@pytest.mark.parametrize("flag", ["yes", "no", "true", 1, 0, None])
def test_enabled_is_a_json_boolean_and_nothing_else(flag):
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(enabled=flag))
    assert fields_of(error.value) == {"enabled"}


def test_a_stored_leg_read_back_with_the_tables_decimals_is_whole_numbers_again():
    stored = {
        **leg(lots=Decimal(2), leg_no=Decimal(1), expiry_offset=Decimal(0)),
        "strategy_id": "s1",
        "created_at": "2026-03-02T04:00:00Z",
        "updated_at": "2026-03-02T04:00:00Z",
        "version": Decimal(1),
    }
    read = Leg.model_validate(stored)
    assert (read.lots, read.leg_no, read.expiry_offset) == (2, 1, 0)
    assert type(read.lots) is int


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (StrategyUpdate, "entry_time"),
        (StrategyUpdate, "entry_days"),
        (StrategyUpdate, "version"),
        (BasketUpdate, "deployable_percentage"),
        (BasketUpdate, "current_capital"),
        (LegUpdate, "lots"),
        (AllocationUpdate, "allocation_config"),
    ],
)
def test_null_for_a_field_of_a_change_is_refused_naming_it(model, field):
    with pytest.raises(ValidationError) as error:
        model.model_validate({field: None})
    assert fields_of(error.value) == {field}
    assert model.model_validate({}).model_dump(exclude_unset=True) == {}


def test_nullable_fields_of_a_change_say_null_clears_them():
    assert LegUpdate.model_validate({"stop_loss": None}).model_dump(exclude_unset=True) == {
        "stop_loss": None
    }
    assert BasketUpdate.model_validate({"creator_name": None}).creator_name is None


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (
            AllocationUpdate,
            {"allocation_config": {"type": "STRATEGY_LEVEL", "strategy_lots_multiplier": None}},
            "allocation_config.strategy_lots_multiplier",
        ),
        (
            AllocationUpdate,
            {"strategy_lots_multiplier": None},
            "allocation_config.strategy_lots_multiplier",
        ),
        (StrategyCreate, {**STRATEGY, "is_intra_day": None}, "is_intra_day"),
        (LegInput, {**LEGS["legs"][0], "underlying": None}, "underlying"),
        (LegInput, {**LEGS["legs"][0], "category": None}, "category"),
        (
            BasketCreate,
            {"basket_name": "b", "initial_capital": 1, "current_capital": None},
            "current_capital",
        ),
    ],
)
def test_null_for_a_field_that_may_be_left_out_is_refused_not_read_as_its_default(
    model, body, field
):
    with pytest.raises(ValidationError) as error:
        model.model_validate(body)
    assert fields_of(error.value) == {field}


def test_every_null_of_a_body_is_named_at_once():
    body = {**LEGS["legs"][0], "underlying": None, "lots": None, "order_type": None}
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(body)
    assert fields_of(error.value) == {"underlying", "lots", "order_type"}


def test_what_is_read_back_may_hold_none_for_a_field_left_out():
    """The table's items are the platform's own dumps: a None there is a field left out."""
    stored = Leg.model_validate(
        {
            **leg(),
            "strike_selection_config": {"method": "DELTA", "delta_value": None, "premium": None},
            "position_sizing": {"min_lots": 1, "max_lots": None, "lot_increment": 1},
            "stop_loss": None,
            "strategy_id": "s1",
            "created_at": "2026-03-02T04:00:00Z",
            "updated_at": "2026-03-02T04:00:00Z",
        }
    )
    assert stored.position_sizing.max_lots is None
    assert stored.stop_loss is None


def test_null_for_a_field_whose_absence_is_stored_as_none_is_leaving_it_out():
    """What a GET shows as null can be sent back as it is (no maximum, no limit)."""
    body = {**LEGS["legs"][0], "position_sizing": {"min_lots": 1, "max_lots": None}}
    assert LegInput.model_validate(body).position_sizing.max_lots is None


def test_the_document_says_null_only_where_null_is_taken():
    for model in (StrategyCreate, LegInput, BasketCreate, BasketUpdate, LegUpdate, AllocationInput):
        properties = model.model_json_schema()["properties"]
        nullable = {
            name
            for name, schema in properties.items()
            if {"type": "null"} in schema.get("anyOf", [])
        }
        taken = {name for name in properties if model._takes_null(name)}
        assert nullable <= taken, model
        assert set(model.null_clears) & set(properties) <= nullable, model
        assert not nullable & set(model.derived_when_left_out), model


@pytest.mark.parametrize("key", [" 1 ", "01", "1.0", "7", ""])
def test_a_leg_override_key_is_a_leg_number_written_exactly(key):
    with pytest.raises(ValidationError):
        AllocationConfig.model_validate({"type": "LEG_LEVEL", "leg_overrides": {key: {"lots": 1}}})


def leg(**changes):
    data = copy.deepcopy(LEGS["legs"][0])
    data.update(changes)
    return data


def test_strike_selection_follows_entry_by_and_must_agree_with_it():
    assert (
        LegInput.model_validate(leg(entry_by="ATM_DISTANCE")).strike_selection_config.method
        == "STRIKE_DISTANCE"
    )
    configured = LegInput.model_validate(
        {
            k: v
            for k, v in leg(strike_selection_config={"method": "PREMIUM", "premium": 40}).items()
            if k != "entry_by"
        }
    )
    assert configured.entry_by == "PREMIUM"
    assert configured.strike_selection_config.premium == 40
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(
            leg(strike_selection_config={"method": "ATM_OFFSET", "atm_offset": 2})
        )
    assert "strike_selection_config.method" in fields_of(error.value)
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(strike_selection_config={"method": "DELTA", "atm_offset": 2}))
    assert "strike_selection_config.atm_offset" in fields_of(error.value)


def test_category_defaults_from_the_side_and_spread_is_allowed_either_way():
    assert (
        LegInput.model_validate({k: v for k, v in leg().items() if k != "category"}).category
        == "SHORT"
    )
    assert LegInput.model_validate(leg(category="SPREAD")).category == "SPREAD"


def test_position_sizing_bounds_the_base_lots():
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(lots=3, position_sizing={"lot_increment": 2}))
    assert fields_of(error.value) == {"lots"}
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(position_sizing={"min_lots": 5, "max_lots": 2}))
    assert fields_of(error.value) == {"position_sizing.max_lots"}


def test_allocations_accept_the_flat_and_the_nested_form_alike():
    flat = AllocationInput.model_validate({"client_id": "Z12", "leg_overrides": {"1": {"lots": 2}}})
    nested = AllocationInput.model_validate(
        {
            "client_id": "Z12",
            "allocation_config": {"type": "LEG_LEVEL", "leg_overrides": {"1": {"lots": 2}}},
        }
    )
    assert flat == nested
    simple = AllocationInput.model_validate({"client_id": "Z12", "strategy_lots_multiplier": 2})
    assert simple.allocation_config.type == "STRATEGY_LEVEL"
    assert (
        AllocationInput.model_validate(
            {"client_id": "Z12"}
        ).allocation_config.strategy_lots_multiplier
        == 1
    )
    single = AdvancedAllocationsRequest.model_validate(
        {"client_id": "Z12", "leg_overrides": {"1": {"lots": 2}}}
    )
    assert len(single.allocations) == 1


def test_a_disabled_override_may_carry_zero_lots_an_enabled_one_may_not():
    AllocationInput.model_validate(
        {"client_id": "Z12", "leg_overrides": {"1": {"lots": 0, "enabled": False}}}
    )
    with pytest.raises(ValidationError) as error:
        AllocationInput.model_validate({"client_id": "Z12", "leg_overrides": {"1": {"lots": 0}}})
    assert fields_of(error.value) == {"allocation_config.leg_overrides.1.lots"}


@pytest.mark.parametrize("entry_by", [{"method": "DELTA"}, ["DELTA"], 3])
def test_an_entry_by_that_is_not_text_is_a_validation_error_not_a_crash(entry_by):
    with pytest.raises(ValidationError) as error:
        LegInput.model_validate(leg(entry_by=entry_by))
    assert "entry_by" in fields_of(error.value)
