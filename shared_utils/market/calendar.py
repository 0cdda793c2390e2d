"""The exchange's trading days, sessions and market phases (IST), from data/trading_calendar.json.

A holiday is a day without a regular session. A special session (Muhurat trading on Diwali) opens
the market for about an hour on a day that is still a holiday for everything else, expiries
included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from shared_utils.domain.clock import IST

_BUILT_IN = Path(__file__).resolve().parents[1] / "data" / "trading_calendar.json"
CLOSED, AFTER_HOURS, SPECIAL_SESSION = "CLOSED", "AFTER_HOURS", "SPECIAL_SESSION"


@dataclass(frozen=True)
class Session:
    day: date
    opens: time
    closes: time
    name: str = "Regular session"

    @property
    def special(self) -> bool:
        return self.name != "Regular session"

    def close_at(self) -> datetime:
        return datetime.combine(self.day, self.closes, IST)


class TradingCalendar:
    def __init__(
        self,
        holidays: dict[date, str],
        special_sessions: dict[date, Session],
        opens: time,
        closes: time,
        phases: list[tuple[str, time, time]],
        square_off_before_close: timedelta = timedelta(minutes=10),
    ):
        self.holidays = holidays
        self.special_sessions = special_sessions
        self.opens, self.closes = opens, closes
        self.phases = phases
        self.square_off_before_close = square_off_before_close

    # -- days ----------------------------------------------------------------------------------
    def is_trading_day(self, day: date) -> bool:
        """A day with a regular session: a weekday that is not a holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def session_on(self, day: date) -> Session | None:
        if self.is_trading_day(day):
            return Session(day, self.opens, self.closes)
        return self.special_sessions.get(day)

    def trading_day_on_or_before(self, day: date) -> date:
        while not self.is_trading_day(day):
            day -= timedelta(days=1)
        return day

    def next_trading_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_trading_day(day):
            day += timedelta(days=1)
        return day

    def holiday_name(self, day: date) -> str | None:
        return self.holidays.get(day)

    # -- moments -------------------------------------------------------------------------------
    def phase_at(self, moment: datetime) -> str:
        """The spec's market phase at `moment`: CLOSED on a day without a session, AFTER_HOURS
        outside it, SPECIAL_SESSION inside a special one, else the phase the clock time falls in."""
        local = moment.astimezone(IST)
        session = self.session_on(local.date())
        if session is None:
            return CLOSED
        clock = local.time()
        if session.special:
            return SPECIAL_SESSION if session.opens <= clock < session.closes else AFTER_HOURS
        for name, starts, ends in self.phases:
            if starts <= clock < ends:
                return name
        return AFTER_HOURS

    def is_open(self, moment: datetime) -> bool:
        """Orders can trade: inside a regular or special session (pre-open excluded)."""
        local = moment.astimezone(IST)
        session = self.session_on(local.date())
        return session is not None and session.opens <= local.time() < session.closes

    def square_off_at(self, day: date) -> datetime | None:
        """When intraday (MIS) positions of that day's session are closed by the platform."""
        session = self.session_on(day)
        return None if session is None else session.close_at() - self.square_off_before_close

    @classmethod
    def from_file(cls, path: Path) -> TradingCalendar:
        raw = json.loads(path.read_text())
        session = raw["session"]
        return cls(
            holidays={date.fromisoformat(day): name for day, name in raw["holidays"].items()},
            special_sessions={
                date.fromisoformat(s["date"]): Session(
                    date.fromisoformat(s["date"]),
                    time.fromisoformat(s["open"]),
                    time.fromisoformat(s["close"]),
                    s["name"],
                )
                for s in raw.get("special_sessions", [])
            },
            opens=time.fromisoformat(session["open"]),
            closes=time.fromisoformat(session["close"]),
            phases=[
                (p["name"], time.fromisoformat(p["from"]), time.fromisoformat(p["to"]))
                for p in raw["phases"]
            ],
            square_off_before_close=timedelta(
                minutes=int(session["intraday_square_off_before_close_minutes"])
            ),
        )


@lru_cache(maxsize=1)
def built_in_calendar() -> TradingCalendar:
    return TradingCalendar.from_file(_BUILT_IN)
