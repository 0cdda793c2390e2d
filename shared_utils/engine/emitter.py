"""The master timer's tick: which of the four event types are due now, on the bus, and when the next
tick is.

The next tick is the next minute boundary as an absolute UTC timestamp, for the timer's Wait with
TimestampPath: computed from the clock each time, it cannot drift. The timer keeps running while
today has a session (regular or special) that has not closed; on a holiday it stops at once.

A tick that catches up (the first of a timer run, which may have started late or after a restart,
or one long after the tick it was scheduled for) puts the Schedule Strategy Trigger on the bus
whatever the minute: the trigger covers the gap since its watermark at once, so an entry still
within its grace is entered now rather than at the next five-minute mark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from shared_utils.domain.clock import IST, ist_date, utc_iso
from shared_utils.market.calendar import TradingCalendar

_EVENTS = Path(__file__).resolve().parents[1] / "data" / "events.json"
PUT_EVENTS_BATCH = 10  # EventBridge takes at most 10 entries per PutEvents call
CATCHES_UP = "schedule_strategy_trigger"
# A tick this long after the one it was scheduled for follows a gap (the timer stalled or stopped).
LATE_TICK = timedelta(seconds=90)


class EventPublisher(Protocol):
    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]: ...  # noqa: N803 (boto3's keyword)


@dataclass(frozen=True)
class EventType:
    name: str
    source: str
    detail_type: str
    phases: frozenset[str]
    every_minutes: int
    on_minute: int = 0
    slower_in: dict[str, int] = field(default_factory=dict)
    window_minutes: int | None = None
    lookback_minutes: int | None = None

    def due(self, phase: str, tick: datetime) -> bool:
        if phase not in self.phases:
            return False
        every = self.slower_in.get(phase, self.every_minutes)
        minute = tick.astimezone(IST).minute
        return (minute - self.on_minute) % every == 0


@dataclass(frozen=True)
class TickResult:
    trading_date: str
    market_open: bool
    next_tick: str
    phase: str
    emitted: list[str]
    failed: list[str]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@lru_cache(maxsize=1)
def event_types() -> tuple[list[EventType], dict[str, dict[str, str]]]:
    raw = json.loads(_EVENTS.read_text())
    types = [
        EventType(
            name=name,
            source=spec["source"],
            detail_type=spec["detail_type"],
            phases=frozenset(spec["phases"]),
            every_minutes=spec["every_minutes"],
            on_minute=spec.get("on_minute", 0),
            slower_in=spec.get("slower_in", {}),
            window_minutes=spec.get("window_minutes"),
            lookback_minutes=spec.get("lookback_minutes"),
        )
        for name, spec in raw["types"].items()
    ]
    return types, raw.get("priorities", {})


@lru_cache(maxsize=1)
def alert_types() -> dict[str, dict[str, str]]:
    """Events the engine raises when something needs a person (a duplicate order, say)."""
    return {
        name: {"source": spec["source"], "detail_type": spec["detail_type"]}
        for name, spec in json.loads(_EVENTS.read_text()).get("alerts", {}).items()
    }


def lookback(event_name: str) -> timedelta:
    (event,) = [e for e in event_types()[0] if e.name == event_name]
    if event.lookback_minutes is None:
        raise ValueError(f"{event_name} has no lookback_minutes in data/events.json")
    return timedelta(minutes=event.lookback_minutes)


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def catching_up(now: datetime, scheduled_tick: datetime | None) -> bool:
    """Whether this tick follows a gap: the first of a timer run, or one long after its time."""
    return scheduled_tick is None or now - scheduled_tick >= LATE_TICK


def tick(
    now: datetime,
    calendar: TradingCalendar,
    publisher: EventPublisher,
    bus_name: str,
    *,
    catch_up: bool = False,
) -> TickResult:
    """One tick of the timer at `now` (a few hundred milliseconds after a minute boundary, usually)."""
    minute = minute_of(now)
    phase = calendar.phase_at(minute)
    types, priorities = event_types()
    entries, names = [], []
    for event in types:
        if not (
            event.due(phase, minute)
            or (catch_up and event.name == CATCHES_UP and phase in event.phases)
        ):
            continue
        detail: dict[str, Any] = {
            "tick": utc_iso(minute),
            "trading_date": ist_date(minute).isoformat(),
            "phase": phase,
            "priority": priorities.get(event.name, {}).get(
                phase, priorities.get(event.name, {}).get("default", "NORMAL")
            ),
        }
        if event.window_minutes:
            detail["window"] = {
                "from": utc_iso(minute),
                "to": utc_iso(minute + timedelta(minutes=event.window_minutes - 1)),
            }
        if event.lookback_minutes:
            detail["lookback_from"] = utc_iso(minute - timedelta(minutes=event.lookback_minutes))
        entries.append(
            {
                "Source": event.source,
                "DetailType": event.detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": bus_name,
                "Time": minute,
            }
        )
        names.append(event.name)
    failed = publish(publisher, entries)
    next_tick = minute + timedelta(minutes=1)
    # A slow tick that crossed the boundary goes to the one after: never a Wait into the past.
    while next_tick <= now:
        next_tick += timedelta(minutes=1)
    session = calendar.session_on(ist_date(minute))
    keep_running = session is not None and next_tick < session.close_at()
    return TickResult(
        trading_date=ist_date(minute).isoformat(),
        market_open=keep_running,
        next_tick=utc_iso(next_tick),
        phase=phase,
        emitted=[n for n in names if n not in failed],
        failed=failed,
    )


def publish(publisher: EventPublisher, entries: list[dict[str, Any]]) -> list[str]:
    """Put the entries in batches of 10, retrying once those EventBridge reports failed; returns the
    detail types that still failed (the tick goes on: the next minute's events supersede them)."""
    failed = [entry["DetailType"] for entry in put_all(publisher, entries)]
    by_detail_type = {event.detail_type: event.name for event in event_types()[0]}
    return [by_detail_type.get(detail_type, detail_type) for detail_type in failed]


def put_all(publisher: EventPublisher, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put the entries in batches of 10, retrying once those EventBridge reports failed: the entries
    that still failed."""
    failed: list[dict[str, Any]] = []
    for start in range(0, len(entries), PUT_EVENTS_BATCH):
        batch = entries[start : start + PUT_EVENTS_BATCH]
        for _attempt in range(2):
            response = publisher.put_events(Entries=batch)
            if not response.get("FailedEntryCount"):
                break
            batch = [
                entry
                for entry, result in zip(batch, response["Entries"], strict=False)
                if result.get("ErrorCode")
            ]
        else:
            failed += batch
    return failed
