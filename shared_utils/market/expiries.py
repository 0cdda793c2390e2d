"""Expiry dates per underlying, from the dated expiry rules and the trading calendar.

- A weekly contract expires on the rule's weekday; a monthly one on the last such weekday of the
  month; the rule in force on the nominal date applies, so the change of weekday in September 2025
  needs no special case.
- An expiry that falls on a day without a regular session moves to the previous trading day.
- When a weekly and the monthly fall on the same day there is one contract: the monthly.
- `WEEKLY` with `expiry_offset` n is the n-th coming expiry of the weekly cycle (a monthly expiry
  day counts as that week's expiry); `MONTHLY` n is the n-th coming monthly. An expiry on the day
  itself counts (offset 0 on expiry day is that day's contract).
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from shared_utils.domain.enums import ExpiryType, weekday_of
from shared_utils.domain.instruments import Instrument
from shared_utils.market.calendar import TradingCalendar

HORIZON_DAYS = 800


class NoSuchExpiry(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Expiry:
    date: dt.date
    type: ExpiryType
    nominal: dt.date  # the rule's day, before any holiday moved it


class ExpiryCalendar:
    def __init__(self, calendar: TradingCalendar):
        self.calendar = calendar

    def monthly_expiries(self, instrument: Instrument, on: date) -> Iterator[Expiry]:
        year, month = on.year, on.month
        while (year - on.year) * 12 + month - on.month <= HORIZON_DAYS // 30:
            nominal = self._last_weekday_of_month(instrument, year, month)
            actual = self.calendar.trading_day_on_or_before(nominal)
            if actual >= on:
                yield Expiry(actual, ExpiryType.MONTHLY, nominal)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def expiries(self, instrument: Instrument, on: date, count: int) -> list[Expiry]:
        """The coming expiries of every contract cycle, weekly and monthly, in date order."""
        monthly = self.monthly_expiries(instrument, on)
        months = [next(monthly) for _ in range(count + 1)]
        monthly_days = {m.date for m in months}
        weeklies = [
            w for w in self._weekly(instrument, on, months[-1].date) if w.date not in monthly_days
        ]
        return sorted(weeklies + months)[:count]

    def resolve(
        self, instrument: Instrument, expiry_type: ExpiryType, offset: int, on: date
    ) -> Expiry:
        """The expiry a leg's `expiry_type` and `expiry_offset` name, seen from `on`."""
        if expiry_type == ExpiryType.MONTHLY:
            monthly = self.monthly_expiries(instrument, on)
            for _ in range(offset):
                next(monthly)
            return next(monthly)
        if instrument.expiry_rule_on(on).weekly is None:
            raise NoSuchExpiry(
                f"{instrument.underlying} has no weekly expiries on {on.isoformat()}"
            )
        cycle = self.expiries(instrument, on, offset + 1)
        return cycle[offset]

    def _weekly(self, instrument: Instrument, on: date, until: date) -> Iterator[Expiry]:
        day = on
        # A holiday can move an expiry up to a few days back: look that far ahead of `on`.
        while day <= until + timedelta(days=7):
            weekday = instrument.expiry_rule_on(day).weekly
            if weekday is not None and weekday_of(day) == weekday:
                actual = self.calendar.trading_day_on_or_before(day)
                if on <= actual <= until:
                    yield Expiry(actual, ExpiryType.WEEKLY, day)
            day += timedelta(days=1)

    @staticmethod
    def _last_weekday_of_month(instrument: Instrument, year: int, month: int) -> date:
        last = date(year, month, month_calendar.monthrange(year, month)[1])
        wanted = instrument.expiry_rule_on(last).monthly.removeprefix("LAST_")
        while weekday_of(last) != wanted:
            last -= timedelta(days=1)
        return last
