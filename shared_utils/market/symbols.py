"""Option trading symbols as each broker spells them.

Zerodha: monthly `NIFTY26MAR22500CE`; weekly `NIFTY2631022500CE` (YY, month as 1-9/O/N/D, DD).
Angel One: `NIFTY10MAR2622500CE` (DD, MMM, YY) for every contract.
"""

from __future__ import annotations

from decimal import Decimal

from shared_utils.domain.enums import ExpiryType
from shared_utils.market.expiries import Expiry

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
ZERODHA_WEEKLY_MONTH = "123456789OND"
OPTION_SUFFIX = {"CALL": "CE", "PUT": "PE"}


def _strike(strike: Decimal | int) -> str:
    value = Decimal(strike)
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def zerodha_symbol(underlying: str, expiry: Expiry, strike: Decimal | int, option_type: str) -> str:
    day, suffix = expiry.date, OPTION_SUFFIX[option_type]
    if expiry.type == ExpiryType.MONTHLY:
        return f"{underlying}{day:%y}{MONTHS[day.month - 1]}{_strike(strike)}{suffix}"
    return f"{underlying}{day:%y}{ZERODHA_WEEKLY_MONTH[day.month - 1]}{day:%d}{_strike(strike)}{suffix}"


def angelone_symbol(
    underlying: str, expiry: Expiry, strike: Decimal | int, option_type: str
) -> str:
    day = expiry.date
    return f"{underlying}{day:%d}{MONTHS[day.month - 1]}{day:%y}{_strike(strike)}{OPTION_SUFFIX[option_type]}"


BROKER_SYMBOLS = {"ZERODHA": zerodha_symbol, "ANGELONE": angelone_symbol, "PAPER": zerodha_symbol}


def trading_symbol(
    broker: str, underlying: str, expiry: Expiry, strike: Decimal | int, option_type: str
) -> str:
    """The symbol for `broker`; brokers without their own format here use Zerodha's exchange-style one."""
    return BROKER_SYMBOLS.get(broker, zerodha_symbol)(underlying, expiry, strike, option_type)
