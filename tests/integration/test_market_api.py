"""The market endpoints (docs/api-reference.md)."""


def test_expiries_come_with_holidays_applied(alice):
    reply = alice.get("/options/market/expiries/NIFTY?on=2026-02-23&count=7")
    assert reply.status == 200
    items = reply.body["items"]
    assert [(i["date"], i["type"]) for i in items] == [
        ("2026-02-24", "MONTHLY"),
        ("2026-03-02", "WEEKLY"),
        ("2026-03-10", "WEEKLY"),
        ("2026-03-17", "WEEKLY"),
        ("2026-03-24", "WEEKLY"),
        ("2026-03-30", "MONTHLY"),
        ("2026-04-07", "WEEKLY"),
    ]
    assert items[1]["moved_from"] == "2026-03-03"
    assert items[1]["lot_size"] == 65


def test_the_default_date_is_today_on_the_platforms_clock(alice):
    assert alice.get("/options/market/expiries/sensex?count=1").body["on"] == "2026-03-02"


def test_instruments_show_the_rules_in_force_on_a_date(alice):
    listed = alice.get("/options/market/instruments").body["items"]
    assert {i["underlying"] for i in listed} >= {
        "NIFTY",
        "BANKNIFTY",
        "FINNIFTY",
        "MIDCPNIFTY",
        "SENSEX",
    }
    nifty_2026 = alice.get("/options/market/instruments/NIFTY?on=2026-03-02").body
    nifty_2024 = alice.get("/options/market/instruments/NIFTY?on=2024-06-03").body
    assert (nifty_2026["lot_size"], nifty_2024["lot_size"]) == (65, 25)
    assert nifty_2026["weekly_expiry"] == "TUESDAY"
    assert nifty_2024["weekly_expiry"] == "THURSDAY"
    assert nifty_2026["max_lots_per_order"] == 27
    assert nifty_2026["freeze_quantity"] == 1800
    assert (
        alice.get("/options/market/instruments/BANKNIFTY?on=2026-03-02").body["weekly_expiry"]
        is None
    )


def test_bad_market_requests_name_what_is_wrong(alice):
    unknown = alice.get("/options/market/expiries/DOGE")
    assert unknown.status == 404
    assert "NIFTY" in unknown.error["message"]
    assert (
        alice.get("/options/market/expiries/NIFTY?on=2026-02-30").error["details"][0]["field"]
        == "on"
    )
    assert (
        alice.get("/options/market/expiries/NIFTY?count=99").error["details"][0]["field"] == "count"
    )


def test_the_hand_worked_2025_and_2026_expiries_come_back_through_the_api(alice):
    from tests.unit.test_expiries import CASES

    for underlying, on, expected in CASES:
        reply = alice.get(f"/options/market/expiries/{underlying}?on={on}&count={len(expected)}")
        assert [(i["date"], i["type"][0]) for i in reply.body["items"]] == expected, (
            underlying,
            on,
        )
