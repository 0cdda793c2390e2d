"""Market data: the provider interface, and the simulated market that is the local default.

The simulated market is reproducible: a seeded intraday path per underlying and trading day, and an
option chain priced with Black-76 on the forward (Jaeckel's Let's Be Rational), over a volatility
smile, with a bid-ask spread that widens away from the money. Its parameters are data
(instruments.json, "simulation"), never market facts.
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from lets_be_rational import black, norm_cdf

from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import Instrument, InstrumentCatalog
from shared_utils.market.calendar import TradingCalendar

MINUTES_A_YEAR = 365 * 24 * 60
# Intraday paths kept at once: a few days of every underlying (today's, and the days a report or a
# settlement still looks back at); an older day's path is drawn again, the same, from its seed.
PATHS_KEPT = 64
CALL, PUT = "CALL", "PUT"


@dataclass(frozen=True)
class OptionQuote:
    strike: Decimal
    option_type: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    implied_volatility: float
    delta: float
    open_interest: int

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class OptionChain:
    underlying: str
    expiry: date
    as_of: datetime
    spot: Decimal
    forward: Decimal
    strike_step: int
    quotes: tuple[OptionQuote, ...]

    def side(self, option_type: str) -> list[OptionQuote]:
        return [q for q in self.quotes if q.option_type == option_type]

    def quote(self, strike: Decimal, option_type: str) -> OptionQuote:
        for q in self.quotes:
            if q.strike == strike and q.option_type == option_type:
                return q
        raise KeyError(f"no {option_type} at {strike} in the {self.underlying} {self.expiry} chain")

    @property
    def strikes(self) -> list[Decimal]:
        return sorted({q.strike for q in self.quotes})


class MarketDataProvider(Protocol):
    def spot(self, underlying: str, at: datetime) -> Decimal: ...

    def chain(self, underlying: str, expiry: date, at: datetime) -> OptionChain: ...

    def quote(
        self, underlying: str, expiry: date, strike: Decimal, option_type: str, at: datetime
    ) -> OptionQuote:
        """One option at `at` (a live feed may only know the latest quote, whatever `at` says)."""


def black76(
    forward: float, strike: float, volatility: float, years: float, rate: float, option_type: str
) -> tuple[float, float]:
    """Discounted Black-76 price, and the delta traders quote: against the spot. With the forward
    at spot x e^(rT), that is N(d1) for a call (the forward delta would carry e^(-rT))."""
    discount = math.exp(-rate * years)
    flag = 1 if option_type == CALL else -1
    price = discount * black(forward, strike, volatility, years, flag)
    d1 = (math.log(forward / strike) + 0.5 * volatility**2 * years) / (
        volatility * math.sqrt(years)
    )
    delta = norm_cdf(d1) if flag == 1 else norm_cdf(d1) - 1
    return price, delta


class SimulatedMarket:
    """A reproducible market for the local platform and tests: same seed, same prices."""

    def __init__(self, catalog: InstrumentCatalog, calendar: TradingCalendar, seed: int = 7):
        self.catalog, self.calendar, self.seed = catalog, calendar, seed
        settings = catalog.simulation
        self.rate: float = settings.get("interest_rate", 0.065)
        self.skew: float = settings.get("smile_skew", -0.9)
        self.curvature: float = settings.get("smile_curvature", 4.0)
        self.spread_fraction: float = settings.get("spread_fraction", 0.006)
        self.strikes_each_side: int = settings.get("strikes_each_side", 40)
        self._paths: OrderedDict[tuple[str, date], list[float]] = OrderedDict()
        self._paths_lock = threading.Lock()

    # -- the underlying ------------------------------------------------------------------------
    def spot(self, underlying: str, at: datetime) -> Decimal:
        instrument = self.catalog.get(underlying)
        local = at.astimezone(IST)
        day = local.date()
        path = self._path(instrument, day)
        session_open = datetime.combine(day, self.calendar.opens, IST)
        minute = (local - session_open).total_seconds() / 60
        minute = min(max(minute, 0.0), len(path) - 1.0)
        low = int(minute)
        high = min(low + 1, len(path) - 1)
        level = path[low] + (path[high] - path[low]) * (minute - low)
        return Decimal(str(round(level, 2)))

    def _path(self, instrument: Instrument, day: date) -> list[float]:
        key = (instrument.underlying, day)
        with self._paths_lock:
            path = self._paths.get(key)
            if path is not None:
                self._paths.move_to_end(key)
                return path
        path = self._draw_path(instrument, day)
        with self._paths_lock:
            self._paths[key] = path
            while len(self._paths) > PATHS_KEPT:
                self._paths.popitem(last=False)
        return path

    def _draw_path(self, instrument: Instrument, day: date) -> list[float]:
        rng = random.Random(f"{self.seed}:{instrument.underlying}:{day.isoformat()}")
        volatility = instrument.atm_volatility or 0.15
        if instrument.reference_price is None:
            raise ValueError(
                f"{instrument.underlying} has no reference price: the simulated market cannot price it"
            )
        # The day's open wanders from the reference level with a few days' worth of volatility.
        opening = instrument.reference_price * math.exp(
            rng.gauss(0, volatility * math.sqrt(5 / 252))
        )
        minutes = int(
            (
                datetime.combine(day, self.calendar.closes)
                - datetime.combine(day, self.calendar.opens)
            ).seconds
            / 60
        )
        step = volatility / math.sqrt(252 * minutes)
        path = [opening]
        for _ in range(minutes):
            path.append(path[-1] * math.exp(rng.gauss(0, step) - 0.5 * step * step))
        return path

    # -- the chain -----------------------------------------------------------------------------
    def chain(self, underlying: str, expiry: date, at: datetime) -> OptionChain:
        instrument = self.catalog.get(underlying)
        spot = float(self.spot(underlying, at))
        expires = datetime.combine(expiry, self.calendar.closes, IST)
        years = max((expires - at).total_seconds() / 60, 1.0) / MINUTES_A_YEAR
        forward = spot * math.exp(self.rate * years)
        step = instrument.strike_step
        atm = round(spot / step) * step
        tick = Decimal(instrument.tick_size)
        quotes = []
        for offset in range(-self.strikes_each_side, self.strikes_each_side + 1):
            strike = atm + offset * step
            if strike <= 0:
                continue
            volatility = self._smile(instrument, math.log(strike / forward))
            for option_type in (CALL, PUT):
                price, delta = black76(forward, strike, volatility, years, self.rate, option_type)
                quotes.append(
                    self._quote(
                        Decimal(strike), option_type, price, volatility, delta, tick, forward
                    )
                )
        return OptionChain(
            underlying=underlying,
            expiry=expiry,
            as_of=at.astimezone(UTC),
            spot=Decimal(str(round(spot, 2))),
            forward=Decimal(str(round(forward, 2))),
            strike_step=step,
            quotes=tuple(quotes),
        )

    def quote(
        self, underlying: str, expiry: date, strike: Decimal, option_type: str, at: datetime
    ) -> OptionQuote:
        """The same quote the chain at `at` has for this option, without pricing the whole chain."""
        instrument = self.catalog.get(underlying)
        spot = float(self.spot(underlying, at))
        expires = datetime.combine(expiry, self.calendar.closes, IST)
        years = max((expires - at).total_seconds() / 60, 1.0) / MINUTES_A_YEAR
        forward = spot * math.exp(self.rate * years)
        volatility = self._smile(instrument, math.log(float(strike) / forward))
        price, delta = black76(forward, float(strike), volatility, years, self.rate, option_type)
        return self._quote(
            Decimal(strike),
            option_type,
            price,
            volatility,
            delta,
            Decimal(instrument.tick_size),
            forward,
        )

    def _smile(self, instrument: Instrument, moneyness: float) -> float:
        atm = instrument.atm_volatility or 0.15
        return max(atm * (1 + self.skew * moneyness + self.curvature * moneyness * moneyness), 0.02)

    def _quote(
        self,
        strike: Decimal,
        option_type: str,
        price: float,
        volatility: float,
        delta: float,
        tick: Decimal,
        forward: float,
    ) -> OptionQuote:
        fair = Decimal(str(price))
        # Wider away from the money and never below one tick each side.
        half_spread = max(tick, fair * Decimal(str(self.spread_fraction)) + tick)
        # As on the exchange, even a far out-of-the-money strike keeps a bid at the minimum tick.
        bid = max(_to_tick(fair - half_spread, tick, ROUND_FLOOR), tick)
        ask = max(_to_tick(fair + half_spread, tick, ROUND_CEILING), bid + tick)
        last = _to_tick(fair, tick, ROUND_FLOOR) if fair >= tick else tick
        distance = abs(math.log(float(strike) / forward))
        interest = int(2_000_000 * math.exp(-((distance / 0.025) ** 2)) + 5_000)
        return OptionQuote(
            strike, option_type, bid, ask, last, round(volatility, 6), round(delta, 6), interest
        )


def _to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick
