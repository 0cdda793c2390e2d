"""The instrument catalogue: which underlyings trade, their lot sizes and expiry rules, by date.

The facts are data (data/instruments.json); this module only reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

_BUILT_IN = Path(__file__).resolve().parents[1] / "data" / "instruments.json"


@dataclass(frozen=True)
class ExpiryRule:
    effective_from: date
    weekly: str | None  # weekday name, or None when the underlying has no weekly contracts
    monthly: str


@dataclass(frozen=True)
class Instrument:
    underlying: str
    name: str
    exchange: str
    segment: str
    kind: str
    strike_step: int
    tick_size: str
    freeze_quantity: int
    lot_sizes: tuple[tuple[date, int], ...]  # (first expiry it applies to, lot size), ascending
    expiry_rules: tuple[ExpiryRule, ...]  # ascending by effective_from
    reference_price: float | None = None  # the simulated market's level (not market data)
    atm_volatility: float | None = None

    def lot_size_for_expiry(self, expiry: date) -> int:
        """The lot size of the contract that expires on `expiry`."""
        size = self.lot_sizes[0][1]
        for first_expiry, lot_size in self.lot_sizes:
            if expiry >= first_expiry:
                size = lot_size
        return size

    def expiry_rule_on(self, day: date) -> ExpiryRule:
        rule = self.expiry_rules[0]
        for candidate in self.expiry_rules:
            if day >= candidate.effective_from:
                rule = candidate
        return rule

    def has_weekly_expiries_on(self, day: date) -> bool:
        return self.expiry_rule_on(day).weekly is not None


class InstrumentCatalog:
    def __init__(
        self, instruments: dict[str, Instrument], as_of: str, simulation: dict | None = None
    ):
        self._instruments = instruments
        self.as_of = as_of
        self.simulation = simulation or {}

    @property
    def underlyings(self) -> list[str]:
        return sorted(self._instruments)

    def __contains__(self, underlying: str) -> bool:
        return underlying in self._instruments

    def get(self, underlying: str) -> Instrument:
        return self._instruments[underlying]

    @classmethod
    def from_file(cls, path: Path) -> InstrumentCatalog:
        raw = json.loads(path.read_text())
        instruments = {}
        for symbol, spec in raw["underlyings"].items():
            instruments[symbol] = Instrument(
                underlying=symbol,
                name=spec["name"],
                exchange=spec["exchange"],
                segment=spec["segment"],
                kind=spec["kind"],
                strike_step=spec["strike_step"],
                tick_size=spec["tick_size"],
                freeze_quantity=spec["freeze_quantity"],
                lot_sizes=tuple(
                    sorted(
                        (date.fromisoformat(e["expiring_from"]), e["lot_size"])
                        for e in spec["lot_sizes"]
                    )
                ),
                expiry_rules=tuple(
                    sorted(
                        (
                            ExpiryRule(date.fromisoformat(r["from"]), r["weekly"], r["monthly"])
                            for r in spec["expiry_rules"]
                        ),
                        key=lambda r: r.effective_from,
                    )
                ),
                reference_price=spec.get("simulation", {}).get("reference_price"),
                atm_volatility=spec.get("simulation", {}).get("atm_volatility"),
            )
        return cls(instruments, raw["as_of"], raw.get("simulation"))


@lru_cache(maxsize=1)
def built_in_catalog() -> InstrumentCatalog:
    return InstrumentCatalog.from_file(_BUILT_IN)
