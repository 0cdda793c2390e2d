"""Which strike each leg trades, from its strike selection method and the option chain.

Methods (positive distances and offsets are out of the money: above ATM for calls, below for puts):
- DELTA: the strike whose |delta| is nearest the target.
- STRIKE_DISTANCE: the listed strike nearest ATM +/- that many points.
- ATM_OFFSET: ATM +/- that many strike steps.
- PREMIUM: the strike whose premium (mid) is nearest the target.
ATM is the spot rounded to the strike step. Ties go to the strike further out of the money, except
between strikes showing the same delta or the same premium (worthless far strikes near expiry, all
at the minimum tick), where the one nearest the money is taken: never the furthest strike listed.

Two legs of one strategy must not trade one contract from opposite sides (`collapsed_legs`): a BUY
and a SELL of the same option type, expiry and strike is no position at all, only two commissions,
and it means the structure (an iron condor's long put < short put < short call < long call, a
spread's two strikes) did not come out. It happens where the chain cannot tell the targets apart:
near the close of expiry day every out-of-the-money strike shows |delta| 0 and the minimum premium,
and a 0.20 and a 0.10 delta (or two premiums) land on the same strike. The entry is refused then.
Legs on one side of one contract (two SELLs) only add up, and legs of another option type or expiry
are other contracts: both are allowed.

Defaults for a method named without a value, chosen so that the spec's Iron Condor (shorts by
DELTA, longs by STRIKE_DISTANCE, no values) comes out long put < short put < short call < long call:
DELTA is 0.20 for a SELL leg and 0.10 for a BUY leg; ATM_OFFSET is 0; STRIKE_DISTANCE is a wing
WING_STRIKES steps beyond the strategy's short leg of the same option type (or beyond ATM when
there is none). PREMIUM always needs its value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from shared_utils.domain.enums import Side, StrikeMethod
from shared_utils.domain.models import Leg, StrikeSelection
from shared_utils.market.data import CALL, OptionChain, OptionQuote

DEFAULT_DELTA = {Side.SELL: Decimal("0.20"), Side.BUY: Decimal("0.10")}
WING_STRIKES = 4


@dataclass(frozen=True)
class SelectedStrike:
    leg_no: int
    option_type: str
    strike: Decimal
    method: str
    target: str
    quote: OptionQuote


def atm_strike(spot: Decimal, step: int) -> Decimal:
    return (Decimal(spot) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _out_of_the_money(option_type: str) -> int:
    return 1 if option_type == CALL else -1


def _nearest(
    candidates: Iterable[OptionQuote], distance: Callable[[OptionQuote], Decimal], option_type: str
) -> OptionQuote:
    # Nearest first; on a tie, the strike further out of the money.
    return min(candidates, key=lambda q: (distance(q), -_out_of_the_money(option_type) * q.strike))


def _selection(leg: Leg) -> StrikeSelection:
    # A validated leg always has one (the model derives it from entry_by); a plan built by hand may not.
    if leg.strike_selection_config is None:
        raise ValueError(f"leg {leg.leg_no}: no strike selection method")
    return leg.strike_selection_config


class StrikeOutOfRange(ValueError):
    """The leg asks for a strike the chain does not list: never quietly trade another one."""


def _at_strike(chain: OptionChain, option_type: str, target: Decimal) -> OptionQuote:
    quote = _nearest(chain.side(option_type), lambda q: abs(q.strike - target), option_type)
    if abs(quote.strike - target) > Decimal(chain.strike_step) / 2:
        raise StrikeOutOfRange(
            f"{option_type} at {target} is outside the chain listed ({chain.strikes[0]} to {chain.strikes[-1]})"
        )
    return quote


def select_strike(
    leg: Leg, chain: OptionChain, wing_anchor: Decimal | None = None
) -> SelectedStrike:
    config = _selection(leg)
    option_type = leg.leg_type
    atm = atm_strike(chain.spot, chain.strike_step)
    direction = _out_of_the_money(option_type)
    if config.method == StrikeMethod.DELTA:
        target = (
            Decimal(config.delta_value)
            if config.delta_value is not None
            else DEFAULT_DELTA[Side(leg.transaction_type)]
        )
        wanted = float(target)  # deltas are floats: compare as floats, no Decimal per quote
        # On a tie the smaller |delta| (further out of the money); among equal deltas (at the close
        # of expiry day every far strike shows 0), the strike nearest the money, never the furthest listed.
        quote = min(
            chain.side(option_type),
            key=lambda q: (abs(abs(q.delta) - wanted), abs(q.delta), abs(q.strike - atm)),
        )
        described = f"|delta| {target}"
    elif config.method == StrikeMethod.ATM_OFFSET:
        offset = config.atm_offset or 0
        quote = _at_strike(chain, option_type, atm + direction * offset * chain.strike_step)
        described = f"ATM {atm} {'+' if direction * offset >= 0 else '-'} {abs(offset)} strikes"
    elif config.method == StrikeMethod.STRIKE_DISTANCE:
        if config.strike_distance is not None:
            base, distance = atm, Decimal(config.strike_distance)
            described = f"ATM {atm} {'+' if direction > 0 else '-'} {distance} points"
        else:
            base = wing_anchor if wing_anchor is not None else atm
            distance = Decimal(WING_STRIKES * chain.strike_step)
            described = f"wing: {WING_STRIKES} strikes beyond {'the short leg at ' if wing_anchor is not None else 'ATM '}{base}"
        quote = _at_strike(chain, option_type, base + direction * distance)
    elif config.method == StrikeMethod.PREMIUM:
        if config.premium is None:
            raise ValueError(f"leg {leg.leg_no}: PREMIUM needs a premium to aim at")
        target = Decimal(config.premium)
        # Among equal premiums (every far strike at the minimum tick near expiry), the strike
        # nearest the money: the furthest one listed is never what a trader aims at.
        quote = min(
            chain.side(option_type), key=lambda q: (abs(q.mid - target), abs(q.strike - atm))
        )
        described = f"premium {target}"
    else:
        raise ValueError(f"leg {leg.leg_no}: unknown strike selection method {config.method}")
    return SelectedStrike(leg.leg_no, option_type, quote.strike, config.method, described, quote)


def select_strikes(
    legs: Iterable[Leg], chain_for: Callable[[Leg], OptionChain]
) -> dict[int, SelectedStrike]:
    """Every leg's strike. Wings (STRIKE_DISTANCE without a value) are placed after the short legs
    they hedge, beyond the short of the same option type and expiry."""
    legs = sorted(legs, key=lambda leg: leg.leg_no)

    def is_wing(leg: Leg) -> bool:
        config = _selection(leg)
        return config.method == StrikeMethod.STRIKE_DISTANCE and config.strike_distance is None

    selected: dict[int, SelectedStrike] = {}
    for leg in (leg for leg in legs if not is_wing(leg)):
        selected[leg.leg_no] = select_strike(leg, chain_for(leg))
    for leg in (leg for leg in legs if is_wing(leg)):
        shorts = [
            selected[other.leg_no].strike
            for other in legs
            if other.transaction_type == Side.SELL
            and other.leg_type == leg.leg_type
            and other.leg_no in selected
            and (other.expiry_type, other.expiry_offset) == (leg.expiry_type, leg.expiry_offset)
        ]
        anchor = None
        if shorts:
            # The outermost short of that type: a wing hedges beyond all of them.
            anchor = max(shorts) if leg.leg_type == CALL else min(shorts)
        selected[leg.leg_no] = select_strike(leg, chain_for(leg), wing_anchor=anchor)
    return selected


@dataclass(frozen=True)
class CollapsedLegs:
    """Two legs that resolved to one contract from opposite sides."""

    buy: Leg
    sell: Leg
    expiry: date
    strike: Decimal

    def __str__(self) -> str:
        return (
            f"legs {self.sell.leg_no} (SELL {self.sell.leg_type}) and {self.buy.leg_no} "
            f"(BUY {self.buy.leg_type}) resolve to the same contract, the "
            f"{self.expiry.isoformat()} {self.strike} {self.buy.leg_type}"
        )


def collapsed_legs(
    legs: Iterable[Leg], selected: dict[int, SelectedStrike], expiry_of: Callable[[Leg], date]
) -> list[CollapsedLegs]:
    """Every BUY and SELL leg pair that trades the same option type, expiry and strike."""
    legs = sorted(legs, key=lambda leg: leg.leg_no)
    return [
        CollapsedLegs(buy, sell, expiry_of(buy), selected[buy.leg_no].strike)
        for buy in legs
        if buy.transaction_type == Side.BUY
        for sell in legs
        if sell.transaction_type == Side.SELL
        and sell.leg_type == buy.leg_type
        and expiry_of(sell) == expiry_of(buy)
        and selected[sell.leg_no].strike == selected[buy.leg_no].strike
    ]
