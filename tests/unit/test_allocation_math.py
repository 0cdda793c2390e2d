"""Lots per account per leg, as the README's "Rules the API enforces" define them."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared_utils.configuration.allocation_math import (
    AllocationRuleBroken,
    calculated_totals,
    lots_per_leg,
    summary,
)
from shared_utils.domain.models import Allocation, AllocationConfig, Leg
from tests.journey import ALLOCATIONS, LEGS

NOW = "2026-03-02T03:55:00.000Z"


def make_leg(leg_no, lots=2, enabled=True, **sizing):
    base = dict(LEGS["legs"][(leg_no - 1) % 4], leg_no=leg_no, lots=lots, enabled=enabled)
    if sizing:
        base["position_sizing"] = sizing
    return Leg(**base, strategy_id="s", created_at=NOW, updated_at=NOW)


def journey_legs():
    return {n: make_leg(n) for n in range(1, 5)}


def test_the_specs_leg_level_allocations_total_8_and_10():
    legs = journey_legs()
    totals = [
        calculated_totals(AllocationConfig.model_validate(a["allocation_config"]), legs)
        for a in ALLOCATIONS["allocations"]
    ]
    assert [t.total_lots_per_execution for t in totals] == [8, 10]
    assert [t.legs_enabled for t in totals] == [4, 4]
    assert totals[1].lots_per_leg == {"1": 1, "2": 1, "3": 4, "4": 4}


leg_sets = st.dictionaries(
    st.integers(1, 6), st.tuples(st.integers(1, 50), st.booleans()), min_size=1, max_size=6
)
override_sets = st.dictionaries(
    st.integers(1, 6), st.tuples(st.integers(1, 50), st.booleans()), min_size=1, max_size=6
)


@given(leg_sets, override_sets)
def test_leg_level_trades_exactly_the_listed_enabled_legs(legs_spec, overrides_spec):
    legs = {n: make_leg(n, lots, enabled) for n, (lots, enabled) in legs_spec.items()}
    config = AllocationConfig(
        type="LEG_LEVEL",
        leg_overrides={
            str(n): {"lots": lots, "enabled": on} for n, (lots, on) in overrides_spec.items()
        },
    )
    if any(n not in legs for n in overrides_spec):
        with pytest.raises(AllocationRuleBroken):
            lots_per_leg(config, legs)
        return
    traded = lots_per_leg(config, legs)
    expected = {n: lots for n, (lots, on) in overrides_spec.items() if on and legs[n].enabled}
    assert traded == expected
    totals = calculated_totals(config, legs)
    assert totals.total_lots_per_execution == sum(expected.values())
    assert totals.legs_enabled == len(expected)
    assert totals.lots_per_leg == {str(n): lots for n, lots in traded.items()}


@given(leg_sets, st.decimals(min_value=Decimal("0.25"), max_value=Decimal("8"), places=2))
def test_strategy_level_multiplies_every_enabled_leg_or_refuses_fractions(legs_spec, multiplier):
    legs = {n: make_leg(n, lots, enabled) for n, (lots, enabled) in legs_spec.items()}
    config = AllocationConfig(type="STRATEGY_LEVEL", strategy_lots_multiplier=multiplier)
    products = {n: leg.lots * multiplier for n, leg in legs.items() if leg.enabled}
    if all(p == p.to_integral_value() for p in products.values()):
        assert lots_per_leg(config, legs) == {n: int(p) for n, p in products.items()}
    else:
        with pytest.raises(AllocationRuleBroken) as broken:
            lots_per_leg(config, legs)
        assert broken.value.field_path == "allocation_config.strategy_lots_multiplier"


def test_lots_outside_a_legs_position_sizing_are_refused():
    legs = {1: make_leg(1, lots=2, min_lots=2, max_lots=4, lot_increment=2)}
    for lots in (1, 3, 6):
        with pytest.raises(AllocationRuleBroken):
            lots_per_leg(
                AllocationConfig(type="LEG_LEVEL", leg_overrides={"1": {"lots": lots}}), legs
            )
    assert lots_per_leg(
        AllocationConfig(type="LEG_LEVEL", leg_overrides={"1": {"lots": 4}}), legs
    ) == {1: 4}


def test_summary_counts_only_active_allocations_in_the_totals():
    legs = journey_legs()
    allocations = []
    for raw, status in zip(ALLOCATIONS["allocations"], ("ACTIVE", "PAUSED"), strict=False):
        config = AllocationConfig.model_validate(raw["allocation_config"])
        allocations.append(
            Allocation(
                **{**raw, "status": status},
                strategy_id="s",
                broker="ZERODHA",
                mode="PAPER",
                performance_metrics={},
                calculated_totals=calculated_totals(config, legs),
                created_at=NOW,
                updated_at=NOW,
            )
        )
    result = summary("s", "NIFTY", 65, legs, allocations)
    assert result["total_lots_per_execution"] == 8
    assert result["brokers_involved"] == ["ZERODHA123"]
    assert len(result["brokers"]) == 2
    assert result["legs"][2]["lots_by_client"] == {"ZERODHA123": 1}
    assert result["legs"][2]["total_quantity"] == 65
    assert result["brokers"][1]["quantity_per_leg"] == {"1": 65, "2": 65, "3": 260, "4": 260}
