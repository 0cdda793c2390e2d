"""The Refresh Market Data handler's work, every minute: fetch anew the option chains the next
minute needs, so neither an entry nor the stop-loss watch prices from a chain older than a minute.

A chain (underlying, expiry) is needed when an open position holds a contract of it, or when an
entry due in the next minute will pick strikes from it. Finding both costs a number of queries
that does not grow with users (the open positions' and the slot's shards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from shared_utils.domain.clock import IST, Clock, ist_date
from shared_utils.domain.enums import ExecutionType, weekday_of
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.engine.ports import Schedule
from shared_utils.engine.positions import PositionStore, expired
from shared_utils.market.expiries import ExpiryCalendar, NoSuchExpiry


class RefreshableMarket(Protocol):
    def refresh(self, underlying: str, expiry: date) -> object:
        """Fetch the chain anew and keep it for what prices from it next."""
        ...


@dataclass
class RefreshResult:
    for_positions: int = 0
    for_entries: int = 0
    refreshed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def refresh_market_data(
    *,
    positions: PositionStore,
    schedule: Schedule,
    market: RefreshableMarket,
    catalog: InstrumentCatalog,
    expiries: ExpiryCalendar,
    clock: Clock,
) -> RefreshResult:
    result = RefreshResult()
    now = clock.now()
    today = ist_date(now)
    held = positions.open_everywhere()
    # What does not read names no chain: it is reported, and every other chain is still refreshed.
    result.failed += [str(unreadable) for unreadable in held.unreadable]
    wanted: set[tuple[str, date]] = {
        (position.underlying, position.expiry)
        for position in held.records
        if not expired(position, now)
    }
    result.for_positions = len(wanted)

    upcoming = (now + timedelta(minutes=1)).astimezone(IST)
    weekday = weekday_of(upcoming.date())
    if upcoming.date() == today and weekday is not None:
        due = schedule.due_at(ExecutionType.ENTRY, weekday, upcoming.strftime("%H:%M"))
        result.failed += [str(unreadable) for unreadable in due.unreadable]
        entry_chains: set[tuple[str, date]] = set()
        for entry in due.records:
            plan = entry.plan
            if plan.underlying not in catalog:
                continue
            instrument = catalog.get(plan.underlying)
            for leg in plan.legs:
                try:
                    expiry = expiries.resolve(instrument, leg.expiry_type, leg.expiry_offset, today)
                except (NoSuchExpiry, ValueError):
                    continue  # the executor reports a leg whose expiry cannot be resolved
                entry_chains.add((plan.underlying, expiry.date))
        result.for_entries = len(entry_chains)
        wanted |= entry_chains

    for underlying, expiry_date in sorted(wanted):
        name = f"{underlying} {expiry_date.isoformat()}"
        try:
            market.refresh(underlying, expiry_date)
            result.refreshed.append(name)
        except Exception as error:  # one provider failure must not keep the other chains stale
            result.failed.append(f"{name}: {type(error).__name__}: {error}")
    return result
