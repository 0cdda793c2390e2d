"""Time, injected: logic asks a Clock for "now" so the local platform can run a simulated day."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

IST = timezone(timedelta(hours=5, minutes=30), "IST")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, at: datetime):
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


class SimulatedClock:
    """Simulated time: `start` at the real instant `anchor` (epoch seconds), running `speed` times
    faster. Processes that share start, speed and anchor agree on the time."""

    def __init__(self, start: datetime, speed: float = 1.0, anchor: float | None = None):
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.start = _aware(start)
        self.speed = speed
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.speed)


class SteppedClock:
    """Simulated time that moves only when the local platform's scheduler moves it, from one due
    moment to the next once everything due before has run: a whole session as fast as this machine
    runs it, with no tick late or skipped. Everything in the process shares the one "now"."""

    _now: datetime | None = None

    def now(self) -> datetime:
        if SteppedClock._now is None:
            raise RuntimeError("the stepped clock has not been set")
        return SteppedClock._now

    @classmethod
    def start_at(cls, moment: datetime) -> None:
        cls._now = _aware(moment)

    @classmethod
    def move_to(cls, moment: datetime) -> None:
        moment = _aware(moment)
        if cls._now is not None and moment < cls._now:
            raise ValueError(f"the stepped clock cannot go back from {cls._now} to {moment}")
        cls._now = moment


def utc_iso(moment: datetime) -> str:
    """The one format in which times are stored: UTC ISO-8601 with milliseconds and a Z."""
    return _aware(moment).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ist_date(moment: datetime) -> date:
    return _aware(moment).astimezone(IST).date()


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous here: give an offset")
    return moment.astimezone(UTC)
