"""Loading a broker's instrument master over the built-in defaults, refusing one that looks broken.

Formats, as the brokers publish them:
- Zerodha: instruments CSV (instrument_token, exchange_token, tradingsymbol, name, last_price, expiry
  YYYY-MM-DD, strike, tick_size, lot_size, instrument_type CE/PE/FUT, segment, exchange);
- Angel One: OpenAPIScripMaster.json, a list of {token, symbol, name, expiry DDMMMYYYY, strike x100,
  lotsize (text), instrumenttype OPTIDX/..., exch_seg NFO/BFO, tick_size x100}.

From the index options in the file each known underlying gets the lot size of every listed expiry
and its strike step; freeze quantities and expiry rules stay as built in (the masters do not carry
them). Contracts are keyed by exchange:tradingsymbol, since tokens are reused. Downloads are often
cut short, so a file is refused whole (IncompleteMaster) unless it parses completely, has the
expected columns, and lists enough option contracts for every underlying that must be there; the
caller then keeps the data it had.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from shared_utils.domain.instruments import Instrument, InstrumentCatalog

ZERODHA_COLUMNS = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)
ANGELONE_KEYS = (
    "token",
    "symbol",
    "name",
    "expiry",
    "strike",
    "lotsize",
    "instrumenttype",
    "exch_seg",
    "tick_size",
)
REQUIRED_UNDERLYINGS = ("NIFTY", "BANKNIFTY", "SENSEX")
MIN_OPTIONS_PER_UNDERLYING = 100
OPTION_EXCHANGES = ("NFO", "BFO")
SHRINK_LIMIT = (
    0.8  # a new master with far fewer contracts than the one in use is more likely cut short
)


class IncompleteMaster(ValueError):
    """The file does not look like a whole instrument master; nothing was replaced."""


@dataclass(frozen=True)
class Contract:
    exchange: str
    tradingsymbol: str
    token: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: str  # CALL | PUT
    lot_size: int


@dataclass(frozen=True)
class LoadedMaster:
    catalog: InstrumentCatalog
    contracts: dict[str, Contract]  # "exchange:tradingsymbol"
    skipped_underlyings: tuple[str, ...]  # present in the file, unknown to the catalogue


def load_zerodha_csv(
    text: str,
    base: InstrumentCatalog,
    required: tuple[str, ...] = REQUIRED_UNDERLYINGS,
    min_options: int = MIN_OPTIONS_PER_UNDERLYING,
    previous: LoadedMaster | None = None,
) -> LoadedMaster:
    if not text.endswith("\n"):
        raise IncompleteMaster("the file does not end with a line break: it is cut short")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(column.strip() for column in rows[0]) != ZERODHA_COLUMNS:
        raise IncompleteMaster(
            f"the header is not Zerodha's instruments header: {', '.join(ZERODHA_COLUMNS)}"
        )
    contracts = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(ZERODHA_COLUMNS):
            raise IncompleteMaster(
                f"line {number} has {len(row)} fields, not {len(ZERODHA_COLUMNS)}: the file is cut short or damaged"
            )
        record = dict(zip(ZERODHA_COLUMNS, row, strict=False))
        if (
            record["instrument_type"] not in ("CE", "PE")
            or record["exchange"] not in OPTION_EXCHANGES
        ):
            continue
        if record["segment"] != f"{record['exchange']}-OPT":
            raise IncompleteMaster(
                f"line {number}: segment {record['segment']!r} does not match exchange {record['exchange']!r}"
            )
        contracts.append(
            _contract(
                number,
                exchange=record["exchange"],
                tradingsymbol=record["tradingsymbol"],
                token=record["instrument_token"],
                underlying=record["name"],
                expiry=record["expiry"],
                expiry_format="%Y-%m-%d",
                strike=record["strike"],
                scale=1,
                option_type=record["instrument_type"],
                lot_size=record["lot_size"],
            )
        )
    return _merge(contracts, base, required, min_options, previous)


def load_angelone_json(
    text: str,
    base: InstrumentCatalog,
    required: tuple[str, ...] = REQUIRED_UNDERLYINGS,
    min_options: int = MIN_OPTIONS_PER_UNDERLYING,
    previous: LoadedMaster | None = None,
) -> LoadedMaster:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise IncompleteMaster(
            f"not whole JSON ({error.msg} at character {error.pos}): the file is cut short or damaged"
        ) from None
    if not isinstance(entries, list):
        raise IncompleteMaster("Angel One's scrip master is a JSON list of instruments")
    contracts = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or any(key not in entry for key in ANGELONE_KEYS):
            raise IncompleteMaster(f"instrument {number} lacks some of {', '.join(ANGELONE_KEYS)}")
        if entry["instrumenttype"] != "OPTIDX" or entry["exch_seg"] not in ("NFO", "BFO"):
            continue
        symbol = entry["symbol"]
        contracts.append(
            _contract(
                number,
                exchange=entry["exch_seg"],
                tradingsymbol=symbol,
                token=str(entry["token"]),
                underlying=entry["name"],
                expiry=entry["expiry"].title(),
                expiry_format="%d%b%Y",
                strike=entry["strike"],
                scale=100,
                option_type=symbol[-2:],
                lot_size=entry["lotsize"],
            )
        )
    return _merge(contracts, base, required, min_options, previous)


def _contract(
    number: int,
    *,
    exchange: str,
    tradingsymbol: str,
    token: str,
    underlying: str,
    expiry: str,
    expiry_format: str,
    strike: str | int | float,
    scale: int,
    option_type: str,
    lot_size: str | int,
) -> Contract:
    try:
        contract = Contract(
            exchange=exchange,
            tradingsymbol=tradingsymbol,
            token=token,
            underlying=underlying.strip().upper(),
            expiry=datetime.strptime(expiry, expiry_format).date(),  # noqa: DTZ007 (a date, no time)
            strike=Decimal(str(strike)) / scale,
            option_type={"CE": "CALL", "PE": "PUT"}[option_type],
            lot_size=int(lot_size),
        )
    except (ValueError, KeyError, InvalidOperation) as error:
        raise IncompleteMaster(
            f"instrument {number} ({tradingsymbol}) has a field that does not parse: {error}"
        ) from None
    if contract.lot_size <= 0 or contract.strike <= 0:
        raise IncompleteMaster(
            f"instrument {number} ({tradingsymbol}) has a lot size or strike that is not positive"
        )
    return contract


def _merge(
    contracts: list[Contract],
    base: InstrumentCatalog,
    required: tuple[str, ...],
    min_options: int,
    previous: LoadedMaster | None,
) -> LoadedMaster:
    by_underlying: dict[str, list[Contract]] = defaultdict(list)
    for contract in contracts:
        by_underlying[contract.underlying].append(contract)
    # A per-exchange file (Kite's instruments("NFO")) is whole without the other exchange's index.
    exchanges = {contract.exchange for contract in contracts}
    expected = [u for u in required if u not in base or base.get(u).segment in exchanges]
    thin = [u for u in expected if len(by_underlying.get(u, ())) < min_options]
    if thin:
        found = ", ".join(f"{u}: {len(by_underlying.get(u, ()))}" for u in thin)
        raise IncompleteMaster(
            f"too few option contracts ({found}; at least {min_options} each): the file looks incomplete"
        )
    if previous is not None:
        before = sum(1 for c in previous.contracts.values() if c.exchange in exchanges)
        after = sum(1 for c in contracts if c.underlying in base)
        if after < SHRINK_LIMIT * before:
            raise IncompleteMaster(
                f"{after} option contracts where the master in use has {before}: the file looks incomplete"
            )
    instruments = {}
    for underlying in base.underlyings:
        instrument = base.get(underlying)
        listed = by_underlying.get(underlying)
        instruments[underlying] = _from_contracts(instrument, listed) if listed else instrument
    skipped = tuple(sorted(set(by_underlying) - set(base.underlyings)))
    return LoadedMaster(
        catalog=InstrumentCatalog(
            instruments, as_of=f"{base.as_of} + broker master", simulation=base.simulation
        ),
        contracts={
            f"{c.exchange}:{c.tradingsymbol}": c for c in contracts if c.underlying in instruments
        },
        skipped_underlyings=skipped,
    )


def _from_contracts(instrument: Instrument, contracts: list[Contract]) -> Instrument:
    """The master decides the lot size of every expiry it lists; the built-in history still answers
    for expiries before the first listed one and after the last."""
    per_expiry: dict[date, int] = {}
    for contract in sorted(contracts, key=lambda c: c.expiry):
        per_expiry.setdefault(contract.expiry, contract.lot_size)
    first_listed, last_listed = min(per_expiry), max(per_expiry)
    lot_sizes = [(start, size) for start, size in instrument.lot_sizes if start < first_listed]
    for expiry, size in sorted(per_expiry.items()):
        if not lot_sizes or lot_sizes[-1][1] != size:
            lot_sizes.append((expiry, size))
    for start, size in instrument.lot_sizes:
        if start > last_listed and lot_sizes[-1][1] != size:
            lot_sizes.append((start, size))
    nearest = min(per_expiry)
    strikes = sorted({c.strike for c in contracts if c.expiry == nearest})
    gaps = Counter(b - a for a, b in pairwise(strikes) if b > a)
    step = int(gaps.most_common(1)[0][0]) if gaps else instrument.strike_step
    return replace(instrument, lot_sizes=tuple(lot_sizes), strike_step=step)
