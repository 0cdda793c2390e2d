"""Legs: the options a strategy trades. Every change of a leg is a change of the strategy's
aggregate: the allocations' totals and the compiled schedule follow it in the same commit."""

from __future__ import annotations

from shared_utils.configuration.aggregates import StrategyAggregates
from shared_utils.configuration.changes import changed
from shared_utils.configuration.conflicts import check_identity, check_version
from shared_utils.configuration.store import StrategyAggregate
from shared_utils.domain.enums import ExpiryType, LegCategory
from shared_utils.domain.errors import Conflict, InvalidInput, NotFound
from shared_utils.domain.models import MAX_LEGS_PER_STRATEGY, Leg, LegInput, LegUpdate, Strategy
from shared_utils.domain.validation import join, validate


class Legs:
    def __init__(self, aggregates: StrategyAggregates):
        self.aggregates = aggregates

    def of_strategy(self, user_id: str, strategy_id: str) -> list[Leg]:
        aggregate = self.aggregates.read(user_id, strategy_id)
        return [leg for _, leg in sorted(aggregate.legs.items())]

    def add(self, user_id: str, strategy_id: str, legs: list[LegInput]) -> list[Leg]:
        before = self.aggregates.read(user_id, strategy_id)
        now = self.aggregates.now_iso
        for index, leg in enumerate(legs):
            if leg.leg_no in before.legs:
                raise Conflict(
                    f"legs[{index}].leg_no: leg {leg.leg_no} already exists in this strategy; update it with PUT instead",
                    [
                        {
                            "field": f"legs[{index}].leg_no",
                            "message": f"leg {leg.leg_no} already exists",
                        }
                    ],
                )
        if len(before.legs) + len(legs) > MAX_LEGS_PER_STRATEGY:
            raise InvalidInput.at(
                "legs",
                f"a strategy has at most {MAX_LEGS_PER_STRATEGY} legs; it has {len(before.legs)} and {len(legs)} were sent",
            )
        new_legs = {}
        for index, leg in enumerate(legs):
            data = leg.model_dump()
            data["underlying"] = _leg_underlying(
                leg.underlying, before.strategy, f"legs[{index}].underlying"
            )
            stored = Leg(**data, strategy_id=strategy_id, created_at=now, updated_at=now, version=1)
            self._check_expiry_available(stored, f"legs[{index}]")
            new_legs[stored.leg_no] = stored
        self.aggregates.commit(
            user_id, before, legs={**before.legs, **new_legs}, new_legs=set(new_legs)
        )
        return [leg for _, leg in sorted(new_legs.items())]

    def update(self, user_id: str, strategy_id: str, leg_no: int, request: LegUpdate) -> Leg:
        before = self.aggregates.read(user_id, strategy_id)
        current = _leg(before, leg_no)
        check_identity(request, leg_no=leg_no, strategy_id=strategy_id)
        check_version(request.version, current.version, f"leg {leg_no}")
        merged = changed(current, request)
        sent = request.model_fields_set
        if (
            "entry_by" in sent
            and "strike_selection_config" not in sent
            and request.entry_by != current.entry_by
        ):
            merged["strike_selection_config"] = None  # a new method starts from its defaults
        if "strike_selection_config" in sent and "entry_by" not in sent:
            merged["entry_by"] = None
        if (
            "transaction_type" in sent
            and "category" not in sent
            and current.category != LegCategory.SPREAD
        ):
            merged["category"] = None
        merged["underlying"] = _leg_underlying(
            merged.get("underlying"), before.strategy, "underlying"
        )
        merged.update(updated_at=self.aggregates.now_iso, version=current.version + 1)
        leg = validate(Leg, merged)
        self._check_expiry_available(leg, "")
        self.aggregates.commit(user_id, before, legs={**before.legs, leg_no: leg})
        return leg

    def delete(self, user_id: str, strategy_id: str, leg_no: int) -> None:
        before = self.aggregates.read(user_id, strategy_id)
        _leg(before, leg_no)
        allocations = dict(before.allocations)
        for client_id, allocation in before.allocations.items():
            overrides = allocation.allocation_config.leg_overrides
            if overrides and str(leg_no) in overrides:
                remaining = {k: v for k, v in overrides.items() if k != str(leg_no)}
                if not remaining:
                    raise Conflict(
                        f"the allocation to {client_id} trades only leg {leg_no}; change or delete that allocation first"
                    )
                config = allocation.allocation_config.model_copy(
                    update={"leg_overrides": remaining}
                )
                allocations[client_id] = allocation.model_copy(update={"allocation_config": config})
        legs = {n: leg for n, leg in before.legs.items() if n != leg_no}
        self.aggregates.commit(
            user_id, before, legs=legs, allocations=allocations, deleted_legs={leg_no}
        )

    def _check_expiry_available(self, leg: Leg, where: str) -> None:
        instrument = self.aggregates.catalog.get(leg.underlying)
        if leg.expiry_type == ExpiryType.WEEKLY and not instrument.has_weekly_expiries_on(
            self.aggregates.today
        ):
            raise InvalidInput.at(
                join(where, "expiry_type"), f"{leg.underlying} has no weekly expiries; use MONTHLY"
            )


def _leg(aggregate: StrategyAggregate, leg_no: int) -> Leg:
    if leg_no not in aggregate.legs:
        raise NotFound(f"strategy {aggregate.strategy.strategy_id} has no leg {leg_no}")
    return aggregate.legs[leg_no]


def _leg_underlying(underlying: str | None, strategy: Strategy, where: str) -> str:
    if underlying is not None and underlying != strategy.underlying:
        raise InvalidInput.at(
            where, f"must be the strategy's underlying {strategy.underlying}, not {underlying}"
        )
    return strategy.underlying
