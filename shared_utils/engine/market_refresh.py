"""The Refresh Market Data handler's work, every minute: fetch anew the option chains the next
minute needs, so neither an entry nor the stop-loss watch prices from a chain older than a minute.

A chain (underlying, expiry) is needed when an open position holds a contract of it, or when an
entry due in the next minute will pick strikes from it. Finding both costs 2 x SCHEDULE_SHARDS
queries, however many users there are.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import IST, Clock, ist_date
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.domain.models import WEEKDAYS
from shared_utils.engine.positions import PositionBook, expired
from shared_utils.market.expiries import ExpiryCalendar


class RefreshableMarket(Protocol):
    def refresh(self, underlying: str, expiry: date): ...


@dataclass
class RefreshResult:
    for_positions: int = 0
    for_entries: int = 0
    refreshed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def refresh_market_data(
    *,
    repository: ConfigurationRepository,
    market: RefreshableMarket,
    catalog: InstrumentCatalog,
    expiries: ExpiryCalendar,
    clock: Clock,
) -> RefreshResult:
    result = RefreshResult()
    now = clock.now()
    today = ist_date(now)
    wanted: set[tuple[str, date]] = set()
    for position in PositionBook(repository, clock).open_everywhere():
        if not expired(position, now):
            wanted.add((position["underlying"], date.fromisoformat(position["expiry"])))
    result.for_positions = len(wanted)

    upcoming = (now + timedelta(minutes=1)).astimezone(IST)
    if upcoming.date() == today and upcoming.weekday() < len(WEEKDAYS):
        slot = (WEEKDAYS[upcoming.weekday()], upcoming.strftime("%H:%M"))
        with ThreadPoolExecutor(max_workers=keys.SCHEDULE_SHARDS) as pool:
            due = pool.map(
                lambda shard: repository.query_schedule_slot("ENTRY", *slot, shard),
                range(keys.SCHEDULE_SHARDS),
            )
        entry_chains = set()
        for item in (item for items in due for item in items):
            plan = item["plan"]
            if plan["underlying"] not in catalog:
                continue
            instrument = catalog.get(plan["underlying"])
            for leg in plan["legs"]:
                try:
                    expiry = expiries.resolve(
                        instrument, leg["expiry_type"], int(leg.get("expiry_offset", 0)), today
                    )
                except ValueError:
                    continue  # the executor reports a leg whose expiry cannot be resolved
                entry_chains.add((plan["underlying"], expiry.date))
        result.for_entries = len(entry_chains)
        wanted |= entry_chains

    for underlying, expiry in sorted(wanted):
        name = f"{underlying} {expiry.isoformat()}"
        try:
            market.refresh(underlying, expiry)
            result.refreshed.append(name)
        except Exception as error:  # one provider failure must not keep the other chains stale
            result.failed.append(f"{name}: {type(error).__name__}: {error}")
    return result
