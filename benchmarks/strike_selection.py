"""Option-chain pricing and strike selection: counts per second, each against a plain baseline
measured in the same run (so the ratio, not the absolute number, is what to compare across machines).

    .venv/bin/python -m benchmarks.strike_selection

- pricing: the simulated chain (81 strikes x 2 types, Black-76 via Let's Be Rational, smile, spread)
  against a baseline that prices the same options with math.erf and nothing else;
- selection: select_strike per method on a priced chain, against a baseline that scans the same
  quotes for the nearest delta with a bare loop.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from shared_utils.domain.clock import IST
from shared_utils.domain.instruments import built_in_catalog
from shared_utils.domain.models import Leg
from shared_utils.market.calendar import built_in_calendar
from shared_utils.market.data import SimulatedMarket
from shared_utils.market.strike_selection import select_strike
from tests.journey import LEGS

AT = datetime(2026, 3, 2, 9, 30, tzinfo=IST)
EXPIRY = date(2026, 3, 10)


def rate(work: Callable[[], object], seconds: float = 1.0) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        count += 1
    return count / (time.perf_counter() - started)


def erf_black76(forward, strike, vol, years, rate_, call):
    d1 = (math.log(forward / strike) + 0.5 * vol * vol * years) / (vol * math.sqrt(years))
    d2 = d1 - vol * math.sqrt(years)
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731 - the formula as one line
    discount = math.exp(-rate_ * years)
    if call:
        return discount * (forward * cdf(d1) - strike * cdf(d2))
    return discount * (strike * cdf(-d2) - forward * cdf(-d1))


def main() -> None:
    market = SimulatedMarket(built_in_catalog(), built_in_calendar())
    market.spot("NIFTY", AT)  # build the day's path once, outside the timing

    def price_chain():
        market.chain("NIFTY", EXPIRY, AT)

    def baseline_chain():
        forward, years = 25250.0, 8 / 365
        for k in range(25250 - 40 * 50, 25250 + 41 * 50, 50):
            erf_black76(forward, k, 0.13, years, 0.065, True)
            erf_black76(forward, k, 0.13, years, 0.065, False)

    chains, baseline = rate(price_chain), rate(baseline_chain)
    print(
        f"chain pricing      {chains:10.1f} chains/s   baseline (erf prices only) {baseline:10.1f}/s   ratio {chains / baseline:5.2f}"
    )

    chain = market.chain("NIFTY", EXPIRY, AT)
    configs = {
        "DELTA": {"method": "DELTA", "delta_value": 0.2},
        "STRIKE_DISTANCE": {"method": "STRIKE_DISTANCE", "strike_distance": 300},
        "ATM_OFFSET": {"method": "ATM_OFFSET", "atm_offset": 2},
        "PREMIUM": {"method": "PREMIUM", "premium": 50},
    }
    puts = chain.side("PUT")

    def baseline_scan():
        best, best_gap = None, 9.0
        for quote in puts:
            gap = abs(abs(quote.delta) - 0.2)
            if gap < best_gap:
                best, best_gap = quote, gap
        return best

    scan = rate(baseline_scan)
    for method, config in configs.items():
        data = dict(copy.deepcopy(LEGS["legs"][0]), strike_selection_config=config, entry_by=method)
        leg = Leg(**data, strategy_id="bench", created_at="t", updated_at="t")
        selections = rate(partial(select_strike, leg, chain))
        print(
            f"select {method:<16}{selections:10.0f} legs/s     baseline (bare delta scan) {scan:10.0f}/s   ratio {selections / scan:5.2f}"
        )


if __name__ == "__main__":
    main()
