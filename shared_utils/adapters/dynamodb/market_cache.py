"""Option chains cached in the table for the spec's 300 seconds.

Freshness is judged by the time the chain was fetched, on the injected clock; the item's TTL
attribute only lets DynamoDB clear old chains away (it may take hours to), so it is never relied on.

Within one minute of the clock, a process reads each chain from the table once: every execution
due that minute, and the stop-loss watch, price from the same snapshot (20 strategies entering at
09:30 read the chain item once, not 20 times). The next minute reads it again, so a refresh made
by another process (the Refresh Market Data handler's, every minute) is seen a minute later at most.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import Clock, utc_iso
from shared_utils.market.data import MarketDataProvider, OptionChain, OptionQuote

TTL_SECONDS = 300
PARTITION = "MARKET_DATA"


class CachedMarketData:
    """A MarketDataProvider that asks the real one at most once per chain per TTL."""

    def __init__(
        self,
        provider: MarketDataProvider,
        repository: ConfigurationRepository,
        clock: Clock,
        ttl_seconds: int = TTL_SECONDS,
    ):
        self.provider, self.repository, self.clock, self.ttl = (
            provider,
            repository,
            clock,
            timedelta(seconds=ttl_seconds),
        )
        # The chains read or fetched in the clock's current minute, by (underlying, expiry), each
        # with when it was fetched; dropped whole when the minute changes, so it stays small.
        self._minute: datetime | None = None
        self._this_minute: dict[tuple[str, date], tuple[datetime, OptionChain]] = {}
        self._lock = threading.Lock()

    def spot(self, underlying: str, at: datetime) -> Decimal:
        return self.provider.spot(underlying, at)

    def quote(
        self, underlying: str, expiry: date, strike: Decimal, option_type: str, at: datetime
    ) -> OptionQuote:
        return self.provider.quote(underlying, expiry, strike, option_type, at)

    def chain(self, underlying: str, expiry: date, at: datetime | None = None) -> OptionChain:
        now = self.clock.now()
        if at is not None and abs(at - now) >= self.ttl:
            return self.provider.chain(
                underlying, expiry, at
            )  # another moment than now: not the cache's
        known = self._read_this_minute(now).get((underlying, expiry))
        if known is not None and self._fresh(known[0], now):
            return known[1]
        item = self.repository.get(PARTITION, _key(underlying, expiry))
        if item:
            fetched = datetime.fromisoformat(item["fetched_at"].replace("Z", "+00:00"))
            if self._fresh(fetched, now):
                chain = _chain_from(item)
                self._keep(now, (underlying, expiry), fetched, chain)
                return chain
        return self.refresh(underlying, expiry)

    def refresh(self, underlying: str, expiry: date) -> OptionChain:
        """Fetch now and cache, whatever is cached (the Refresh Market Data handler's job)."""
        now = self.clock.now()
        chain = self.provider.chain(underlying, expiry, now)
        self.repository.commit([db.put(_item(chain, now, self.ttl))])
        self._keep(now, (underlying, expiry), now, chain)
        return chain

    def _fresh(self, fetched: datetime, now: datetime) -> bool:
        # A negative age is a chain from the clock's future (a simulated clock set back): stale.
        return timedelta(0) <= now - fetched < self.ttl

    def _read_this_minute(
        self, now: datetime
    ) -> dict[tuple[str, date], tuple[datetime, OptionChain]]:
        with self._lock:
            if self._minute != _minute_of(now):
                self._minute, self._this_minute = _minute_of(now), {}
            return self._this_minute

    def _keep(
        self, now: datetime, chain_of: tuple[str, date], fetched: datetime, chain: OptionChain
    ) -> None:
        self._read_this_minute(now)[chain_of] = (fetched, chain)


def _minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _key(underlying: str, expiry: date) -> str:
    return f"CHAIN#{underlying}#{expiry.isoformat()}"


def _item(chain: OptionChain, fetched: datetime, ttl: timedelta) -> dict[str, Any]:
    return {
        keys.PK: PARTITION,
        keys.SK: _key(chain.underlying, chain.expiry),
        "entity_type": "OPTION_CHAIN",
        "fetched_at": utc_iso(fetched),
        "expires_at": int((fetched + ttl).timestamp()),
        "underlying": chain.underlying,
        "expiry": chain.expiry.isoformat(),
        "as_of": utc_iso(chain.as_of),
        "spot": chain.spot,
        "forward": chain.forward,
        "strike_step": chain.strike_step,
        # Compact rows: a whole chain stays far below DynamoDB's 400 KB item limit.
        "quotes": [
            [
                q.strike,
                q.option_type,
                q.bid,
                q.ask,
                q.last,
                Decimal(str(q.implied_volatility)),
                Decimal(str(q.delta)),
                q.open_interest,
            ]
            for q in chain.quotes
        ],
    }


def _chain_from(item: dict[str, Any]) -> OptionChain:
    return OptionChain(
        underlying=item["underlying"],
        expiry=date.fromisoformat(item["expiry"]),
        as_of=datetime.fromisoformat(item["as_of"].replace("Z", "+00:00")),
        spot=item["spot"],
        forward=item["forward"],
        strike_step=int(item["strike_step"]),
        quotes=tuple(
            OptionQuote(strike, option_type, bid, ask, last, float(iv), float(delta), int(interest))
            for strike, option_type, bid, ask, last, iv, delta, interest in item["quotes"]
        ),
    )
