"""The paper broker's margin model (data/paper_margin.json): what a set of option holdings blocks.

Per underlying, expiry and option type, each short unit is paired with a long unit that covers it
(calls with a higher strike, puts with a lower one, nearest first); a covered unit blocks the
spread's maximum loss, capped at what it would block uncovered; an uncovered short blocks a percent
of the underlying's notional; a long blocks its premium.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from shared_utils.domain.enums import OptionType

_BUILT_IN = Path(__file__).resolve().parents[1] / "data" / "paper_margin.json"


@dataclass(frozen=True)
class Holding:
    underlying: str
    expiry: date
    option_type: OptionType
    strike: Decimal
    quantity: int  # signed: negative when short
    premium: Decimal  # per unit


@dataclass(frozen=True)
class MarginModel:
    percent_of_notional: dict[str, Decimal]
    default_percent: Decimal

    def required(self, holdings: Iterable[Holding], spot_of: Callable[[str], Decimal]) -> Decimal:
        groups: dict[tuple, list[Holding]] = defaultdict(list)
        for holding in holdings:
            if holding.quantity:
                groups[(holding.underlying, holding.expiry, holding.option_type)].append(holding)
        total = Decimal(0)
        for (underlying, _, option_type), group in groups.items():
            naked_per_unit = (
                spot_of(underlying)
                * self.percent_of_notional.get(underlying, self.default_percent)
                / 100
            )
            calls = option_type == OptionType.CALL
            longs = sorted(
                ((h.strike, h.quantity) for h in group if h.quantity > 0), reverse=not calls
            )
            unused = [quantity for _, quantity in longs]
            total += sum((h.premium * h.quantity for h in group if h.quantity > 0), Decimal(0))
            for short in sorted(
                (h for h in group if h.quantity < 0), key=lambda h: h.strike, reverse=not calls
            ):
                left = -short.quantity
                for index, (strike, _) in enumerate(longs):
                    covers = strike > short.strike if calls else strike < short.strike
                    if not covers or unused[index] == 0 or left == 0:
                        continue
                    used = min(left, unused[index])
                    total += min(abs(strike - short.strike), naked_per_unit) * used
                    unused[index] -= used
                    left -= used
                total += naked_per_unit * left
        return total.quantize(Decimal("0.01"))


@lru_cache(maxsize=1)
def built_in_margin_model() -> MarginModel:
    raw = json.loads(_BUILT_IN.read_text())
    return MarginModel(
        {k: Decimal(v) for k, v in raw["short_option_percent_of_notional"].items()},
        Decimal(raw["default_percent_of_notional"]),
    )
