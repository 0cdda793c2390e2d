"""Expiry dates per underlying, from the dated expiry rules and the trading calendar.

- A weekly contract expires on the rule's weekday; a monthly one on the last such weekday of the
  month; the rule in force on the nominal date applies, so the change of weekday in September 2025
  needs no special case.
- An expiry that falls on a day without a regular session moves to the previous trading day.
- When a weekly and the monthly fall on the same day there is one contract: the monthly.
- `WEEKLY` with `expiry_offset` n is the n-th coming expiry of the weekly cycle (a monthly expiry
  day counts as that week's expiry); `MONTHLY` n is the n-th coming monthly. An expiry on the day
  itself counts (offset 0 on expiry day is that day's contract).
- An entry trades an expiry only while it can still be worked: until ENTRY_CUTOFF before the close
  of its last session (on expiry day, until 15:15 IST). Past that, a leg refuses the entry, or takes
  the next expiry of its type if its `expiry_rollover` is NEXT. Exits are never held to this rule.
- The calendar ends at 9999-12-31: a date too close to it to list what was asked is a NoSuchExpiry
  (an InvalidInput: a 422 at the API), never an overflow.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

from shared_utils.domain.clock import IST, ist_date
from shared_utils.domain.enums import ExpiryRollover, ExpiryType, weekday_of
from shared_utils.domain.errors import InvalidInput
from shared_utils.domain.instruments import Instrument
from shared_utils.market.calendar import TradingCalendar

HORIZON_DAYS = 800
# An entry placed later than this before its contract's last close may not be worked (a LIMIT order
# needs time to fill, a hedge must be in place before the short it covers): it is refused, not sent.
ENTRY_CUTOFF = timedelta(minutes=15)


class NoSuchExpiry(InvalidInput):
    """No expiry answers the question: an underlying without weeklies, or a date too close to the
    end of the calendar."""


class ExpiryNotTradable(ValueError):
    """The leg's expiry can no longer be entered, and the leg does not roll to the next one."""


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
            if year > date.max.year:
                return  # the calendar ends: the caller says what that leaves unanswered
            nominal = self._last_weekday_of_month(instrument, year, month)
            actual = self.calendar.trading_day_on_or_before(nominal)
            if actual >= on:
                yield Expiry(actual, ExpiryType.MONTHLY, nominal)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def expiries(self, instrument: Instrument, on: date, count: int) -> list[Expiry]:
        """The coming expiries of every contract cycle, weekly and monthly, in date order."""
        months = list(islice(self.monthly_expiries(instrument, on), count + 1))
        if len(months) <= count:
            raise _beyond_the_calendar(on, f"{count} expiries")
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
            months = list(islice(self.monthly_expiries(instrument, on), offset + 1))
            if len(months) <= offset:
                raise _beyond_the_calendar(on, f"monthly expiry {offset}")
            return months[offset]
        if instrument.expiry_rule_on(on).weekly is None:
            raise NoSuchExpiry(
                f"{instrument.underlying} has no weekly expiries on {on.isoformat()}"
            )
        cycle = self.expiries(instrument, on, offset + 1)
        return cycle[offset]

    def last_entry_at(self, expiry: Expiry) -> datetime:
        """The latest moment an entry may trade this expiry: ENTRY_CUTOFF before the close of its
        last session."""
        session = self.calendar.session_on(expiry.date)
        closes = (
            session.close_at()
            if session
            else datetime.combine(expiry.date, self.calendar.closes, IST)
        )
        return closes - ENTRY_CUTOFF

    def entry_expiry(
        self,
        instrument: Instrument,
        expiry_type: ExpiryType,
        offset: int,
        rollover: ExpiryRollover,
        now: datetime,
    ) -> Expiry:
        """The expiry an entry at `now` trades for a leg: the one its type and offset name, unless
        that one can no longer be worked; then the next of its type (NEXT), or ExpiryNotTradable."""
        today = ist_date(now)
        expiry = self.resolve(instrument, expiry_type, offset, today)
        cutoff = self.last_entry_at(expiry)
        if now < cutoff:
            return expiry
        if rollover is ExpiryRollover.NEXT:
            # Seen from the next day, today's contract is gone and the offset counts from the next.
            return self.resolve(instrument, expiry_type, offset, today + timedelta(days=1))
        closes = cutoff + ENTRY_CUTOFF
        raise ExpiryNotTradable(
            f"{instrument.underlying} {expiry.date.isoformat()} ({expiry.type}) expires at "
            f"{closes.astimezone(IST):%H:%M} IST today and entries on it stop at "
            f"{cutoff.astimezone(IST):%H:%M} IST ({int(ENTRY_CUTOFF.total_seconds() // 60)} minutes before); "
            "the leg does not roll to the next expiry (expiry_rollover NONE)"
        )

    def _weekly(self, instrument: Instrument, on: date, until: date) -> Iterator[Expiry]:
        day = on
        # A holiday can move an expiry up to a few days back: look that far ahead of `on` (but never
        # past the calendar's last day).
        last = until + timedelta(days=7) if until <= date.max - timedelta(days=7) else date.max
        while day <= last:
            weekday = instrument.expiry_rule_on(day).weekly
            if weekday is not None and weekday_of(day) == weekday:
                actual = self.calendar.trading_day_on_or_before(day)
                if on <= actual <= until:
                    yield Expiry(actual, ExpiryType.WEEKLY, day)
            if day == date.max:
                return
            day += timedelta(days=1)

    @staticmethod
    def _last_weekday_of_month(instrument: Instrument, year: int, month: int) -> date:
        last = date(year, month, month_calendar.monthrange(year, month)[1])
        wanted = instrument.expiry_rule_on(last).monthly.removeprefix("LAST_")
        while weekday_of(last) != wanted:
            last -= timedelta(days=1)
        return last


def _beyond_the_calendar(on: date, what: str) -> NoSuchExpiry:
    message = f"{on.isoformat()} is too close to the end of the calendar ({date.max.isoformat()}) to list {what}"
    return NoSuchExpiry(f"on: {message}", [{"field": "on", "message": message}])
