"""Chains are cached in the table for 300 seconds of the platform's clock."""

from datetime import date, datetime

from shared_utils.adapters.dynamodb.market_cache import CachedMarketData
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket


class CountingMarket(SimulatedMarket):
    def __init__(self):
        super().__init__(built_in_catalog(), built_in_calendar())
        self.fetches = 0

    def chain(self, underlying, expiry, at):
        self.fetches += 1
        return super().chain(underlying, expiry, at)


def test_a_chain_is_fetched_once_per_300_seconds_and_comes_back_whole(repository):
    clock = FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=IST))
    market = CountingMarket()
    cache = CachedMarketData(market, repository, clock)
    first = cache.chain("NIFTY", date(2026, 3, 10))
    clock.advance(seconds=299)
    again = cache.chain("NIFTY", date(2026, 3, 10))
    assert market.fetches == 1
    assert again == first
    clock.advance(seconds=1)
    later = cache.chain("NIFTY", date(2026, 3, 10))
    assert market.fetches == 2
    assert later.as_of > first.as_of
    cache.refresh("NIFTY", date(2026, 3, 10))
    assert market.fetches == 3


def test_the_cached_item_carries_a_ttl_for_dynamodb_to_clear(repository):
    clock = FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=IST))
    CachedMarketData(CountingMarket(), repository, clock).chain("SENSEX", date(2026, 3, 5))
    item = repository.get("MARKET_DATA", "CHAIN#SENSEX#2026-03-05")
    assert item["expires_at"] == int(clock.now().timestamp()) + 300
    assert len(item["quotes"]) == 162


def test_a_chain_from_the_clocks_future_or_for_another_moment_is_not_served(repository):
    clock = FixedClock(datetime(2026, 3, 2, 14, 0, tzinfo=IST))
    market = CountingMarket()
    cache = CachedMarketData(market, repository, clock)
    afternoon = cache.chain("NIFTY", date(2026, 3, 10))
    clock.advance(hours=-3)  # a simulated clock started again, earlier
    morning = cache.chain("NIFTY", date(2026, 3, 10))
    assert market.fetches == 2
    assert morning.spot != afternoon.spot
    earlier = cache.chain("NIFTY", date(2026, 3, 10), at=datetime(2026, 3, 2, 10, 0, tzinfo=IST))
    assert market.fetches == 3
    assert earlier.as_of.astimezone(IST).hour == 10
