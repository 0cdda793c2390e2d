"""The orders an entry sends, and the entries that are refused before any order exists.

An entry is refused, with a reason a trader can act on and nothing placed, when:
- the market is not open (a holiday, a weekend, before 09:15 or after 15:30 IST): a LIMIT entry
  sent then would only be rejected by the exchange, or wait as an after-market order for a market
  that has moved;
- an intraday (MIS) strategy is past its square-off time;
- a leg's expiry can no longer be worked (it expires today within ENTRY_CUTOFF of the close) and
  the leg does not roll to the next expiry (`expiry_rollover` NONE, the default);
- two legs resolve to one contract from opposite sides (see `strike_selection.collapsed_legs`).
Exits and stop losses are never refused here: closing lowers risk.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from shared_utils.configuration.schedule import ExecutionPlan
from shared_utils.domain.clock import IST, Clock, ist_date
from shared_utils.domain.enums import Product
from shared_utils.domain.instruments import InstrumentCatalog
from shared_utils.domain.models import Leg
from shared_utils.engine.order_planning import PlannedOrder, plan_entry
from shared_utils.engine.records import ExecutionRef
from shared_utils.market.calendar import TradingCalendar
from shared_utils.market.data import MarketDataProvider, OptionChain
from shared_utils.market.expiries import Expiry, ExpiryCalendar, ExpiryNotTradable
from shared_utils.market.strike_selection import collapsed_legs, select_strikes


class EntryRefused(ValueError):
    """The entry may not be sent: the message says why, in the trader's words."""


class EntryOrders:
    def __init__(
        self,
        market: MarketDataProvider,
        catalog: InstrumentCatalog,
        expiries: ExpiryCalendar,
        clock: Clock,
    ):
        self.market, self.catalog, self.expiries, self.clock = market, catalog, expiries, clock

    def orders(self, ref: ExecutionRef, plan: ExecutionPlan) -> list[PlannedOrder]:
        """Every order of the entry, or EntryRefused."""
        now = self.clock.now()
        refusal = market_closed(self.expiries.calendar, now)
        if refusal:
            raise EntryRefused(refusal)
        square_off = self.expiries.calendar.square_off_at(ist_date(now))
        if plan.product is Product.MIS and square_off is not None and now >= square_off:
            raise EntryRefused(
                f"an intraday (MIS) strategy is not entered after its square-off time {square_off:%H:%M} IST"
            )
        legs = [
            Leg.model_validate(
                {
                    **leg.model_dump(),
                    "strategy_id": ref.strategy_id,
                    "created_at": "-",
                    "updated_at": "-",
                }
            )
            for leg in plan.legs
        ]
        expiries = self._expiries(plan.underlying, legs, now)
        chains: dict[date, OptionChain] = {}

        def chain_for(leg: Leg) -> OptionChain:
            expiry = expiries[leg.leg_no].date
            if expiry not in chains:
                chains[expiry] = self.market.chain(plan.underlying, expiry, self.clock.now())
            return chains[expiry]

        strikes = select_strikes(legs, chain_for)
        collapsed = collapsed_legs(legs, strikes, lambda leg: expiries[leg.leg_no].date)
        if collapsed:
            raise EntryRefused(
                f"{'; '.join(map(str, collapsed))}: a BUY and a SELL of one contract is no "
                "position, so the strategy's structure did not come out (near the close of expiry "
                "day the chain cannot tell the legs' targets apart); choose other strikes or expiries"
            )
        return plan_entry(ref.key, plan, strikes, expiries, self.catalog)

    def _expiries(self, underlying: str, legs: list[Leg], now: datetime) -> dict[int, Expiry]:
        instrument = self.catalog.get(underlying)
        expiries: dict[int, Expiry] = {}
        refused: dict[str, list[int]] = defaultdict(list)
        for leg in legs:
            try:
                expiries[leg.leg_no] = self.expiries.entry_expiry(
                    instrument, leg.expiry_type, leg.expiry_offset, leg.expiry_rollover, now
                )
            except ExpiryNotTradable as error:
                refused[str(error)].append(leg.leg_no)
        if refused:
            # The legs of one expiry share one reason: say it once, naming them all.
            raise EntryRefused(
                "; ".join(
                    f"leg{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}: {why}"
                    for why, numbers in refused.items()
                )
            )
        return expiries


def market_closed(calendar: TradingCalendar, now: datetime) -> str | None:
    """Why no order can trade at `now`, or None while the market is open."""
    if calendar.is_open(now):
        return None
    local = now.astimezone(IST)
    session = calendar.session_on(local.date())
    if session is None:
        holiday = calendar.holiday_name(local.date())
        why = f"{holiday}, a trading holiday" if holiday else f"a {local:%A}, no session"
        return f"the market is closed today ({local.date().isoformat()}: {why}); entries need an open session"
    return (
        f"the market is closed ({local:%H:%M} IST; today's session is {session.opens:%H:%M}-"
        f"{session.closes:%H:%M} IST); entries need an open session"
    )
