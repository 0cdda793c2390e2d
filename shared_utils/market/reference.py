"""What a trader can look up about the market: instruments with the rules in force, and expiries."""

from __future__ import annotations

from datetime import date

from shared_utils.domain.errors import InvalidInput, NotFound
from shared_utils.domain.instruments import Instrument, InstrumentCatalog
from shared_utils.market.expiries import ExpiryCalendar

MAX_EXPIRIES = 12


class MarketReference:
    def __init__(self, catalog: InstrumentCatalog, expiries: ExpiryCalendar):
        self.catalog = catalog
        self.expiries = expiries

    def instruments(self, on: date) -> list[dict]:
        return [
            self._view(self.catalog.get(underlying), on) for underlying in self.catalog.underlyings
        ]

    def instrument(self, underlying: str, on: date) -> dict:
        return self._view(self._instrument(underlying), on)

    def coming_expiries(self, underlying: str, on: date, count: int = 6) -> dict:
        if not 1 <= count <= MAX_EXPIRIES:
            raise InvalidInput.at("count", f"must be 1 to {MAX_EXPIRIES}")
        instrument = self._instrument(underlying)
        items = [
            {
                "date": e.date.isoformat(),
                "type": e.type,
                "moved_from": e.nominal.isoformat() if e.nominal != e.date else None,
                "lot_size": instrument.lot_size_for_expiry(e.date),
            }
            for e in self.expiries.expiries(instrument, on, count)
        ]
        return {"underlying": instrument.underlying, "on": on.isoformat(), "items": items}

    def _instrument(self, underlying: str) -> Instrument:
        symbol = underlying.upper()
        if symbol not in self.catalog:
            raise NotFound(
                f"no instrument {underlying}; known: {', '.join(self.catalog.underlyings)}"
            )
        return self.catalog.get(symbol)

    def _view(self, instrument: Instrument, on: date) -> dict:
        rule = instrument.expiry_rule_on(on)
        nearest = self.expiries.expiries(instrument, on, 1)[0]
        lot_size = instrument.lot_size_for_expiry(nearest.date)
        return {
            "underlying": instrument.underlying,
            "name": instrument.name,
            "exchange": instrument.exchange,
            "segment": instrument.segment,
            "kind": instrument.kind,
            "strike_step": instrument.strike_step,
            "tick_size": instrument.tick_size,
            "lot_size": lot_size,
            "lot_sizes": [
                {"expiring_from": first.isoformat(), "lot_size": size}
                for first, size in instrument.lot_sizes
            ],
            "freeze_quantity": instrument.freeze_quantity,
            "max_lots_per_order": instrument.freeze_quantity // lot_size,
            "weekly_expiry": rule.weekly,
            "monthly_expiry": rule.monthly,
            "nearest_expiry": {"date": nearest.date.isoformat(), "type": nearest.type},
            "as_of": on.isoformat(),
        }
