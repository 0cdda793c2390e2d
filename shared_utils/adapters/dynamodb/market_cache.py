"""Option chains cached in the table for the spec's 300 seconds.

Freshness is judged by the time the chain was fetched, on the injected clock; the item's TTL
attribute only lets DynamoDB clear old chains away (it may take hours to), so it is never relied on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
        item = self.repository.get(PARTITION, _key(underlying, expiry))
        if item:
            age = now - datetime.fromisoformat(item["fetched_at"].replace("Z", "+00:00"))
            # A negative age is a chain from the clock's future (a simulated clock set back): stale.
            if timedelta(0) <= age < self.ttl:
                return _chain_from(item)
        return self.refresh(underlying, expiry)

    def refresh(self, underlying: str, expiry: date) -> OptionChain:
        """Fetch now and cache, whatever is cached (the Refresh Market Data handler's job)."""
        now = self.clock.now()
        chain = self.provider.chain(underlying, expiry, now)
        self.repository.commit([db.put(_item(chain, now, self.ttl))])
        return chain


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
