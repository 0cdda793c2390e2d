"""The paper broker's margin model: uncovered shorts on notional, spreads at their maximum loss."""

from datetime import date
from decimal import Decimal

from shared_utils.market.margin import Holding, MarginModel, built_in_margin_model

EXPIRY = date(2026, 3, 10)
MODEL = MarginModel({"NIFTY": Decimal("9")}, Decimal("12"))
SPOT = {"NIFTY": Decimal("25000"), "SENSEX": Decimal("80000")}


def holding(option_type, strike, quantity, premium="10", underlying="NIFTY", expiry=EXPIRY):
    return Holding(underlying, expiry, option_type, Decimal(strike), quantity, Decimal(premium))


def required(*holdings):
    return MODEL.required(holdings, SPOT.__getitem__)


def test_an_uncovered_short_blocks_a_percent_of_notional_and_a_long_its_premium():
    assert required(holding("CALL", 25500, -65)) == Decimal("146250.00")  # 25,000 x 9% x 65
    assert required(holding("PUT", 24500, 65, premium="40")) == Decimal("2600.00")
    assert required(holding("CALL", 25500, -65, underlying="SENSEX")) == Decimal(
        "624000.00"
    )  # the default 12%


def test_a_covered_short_blocks_its_spreads_maximum_loss():
    # Bear call spread 25500/25700: at most 200 points a unit, plus the long's premium.
    assert required(
        holding("CALL", 25500, -65), holding("CALL", 25700, 65, premium="20")
    ) == Decimal(200 * 65 + 20 * 65)
    # A put below a short put covers it; a put above it does not.
    assert required(holding("PUT", 24500, -65), holding("PUT", 24300, 65, premium="0")) == Decimal(
        200 * 65
    )
    assert required(holding("PUT", 24500, -65), holding("PUT", 24700, 65, premium="0")) == Decimal(
        "146250.00"
    )


def test_only_as_many_units_as_the_longs_hold_are_covered_and_expiries_do_not_mix():
    three_lots_short = holding("CALL", 25500, -195)
    one_lot_long = holding("CALL", 25700, 65, premium="0")
    assert required(three_lots_short, one_lot_long) == Decimal(200 * 65 + 2250 * 130)
    next_month = holding("CALL", 25700, 195, premium="0", expiry=date(2026, 3, 31))
    assert required(three_lots_short, next_month) == Decimal(2250 * 195)


def test_an_iron_condor_blocks_both_spreads_maximum_losses():
    condor = [
        holding("PUT", 24300, 65, "0"),
        holding("PUT", 24500, -65, "0"),
        holding("CALL", 25500, -65, "0"),
        holding("CALL", 25700, 65, "0"),
    ]
    assert required(*condor) == Decimal(2 * 200 * 65)


def test_the_built_in_model_has_a_rate_for_every_underlying_the_catalog_trades():
    from shared_utils.domain.instruments import built_in_catalog

    model = built_in_margin_model()
    assert set(built_in_catalog().underlyings) <= set(model.percent_of_notional)
