"""The spec's journey 1 payloads, exactly as architecture.md writes them."""

BASKET = {
    "basket_name": "Conservative Income",
    "description": "Low-risk monthly income strategies",
    "initial_capital": 500000,
    "deployable_percentage": 80,
}

STRATEGY = {
    "strategy_name": "Weekly Iron Condor NIFTY",
    "description": "Weekly NIFTY Iron Condor for income",
    "entry_time": "09:30",
    "exit_time": "15:20",
    "entry_days": ["MONDAY"],
    "exit_days": ["FRIDAY"],
    "product": "NRML",
    "underlying": "NIFTY",
    "is_intra_day": False,
}


def _leg(leg_no, transaction_type, leg_type, entry_by, stop_loss, category, slippage, max_slippage):
    return {
        "leg_no": leg_no,
        "lots": 2,
        "transaction_type": transaction_type,
        "leg_type": leg_type,
        "underlying": "NIFTY",
        "entry_by": entry_by,
        "stop_loss": stop_loss,
        "expiry_type": "WEEKLY",
        "expiry_offset": 0,
        "category": category,
        "order_type": "LIMIT",
        "entry_slippage": slippage,
        "exit_slippage": slippage,
        "entry_max_slippage": max_slippage,
        "exit_max_slippage": max_slippage,
    }


LEGS = {
    "legs": [
        _leg(1, "SELL", "PUT", "DELTA", 50, "SHORT", 5, 10),
        _leg(2, "BUY", "PUT", "STRIKE_DISTANCE", 25, "LONG", 3, 8),
        _leg(3, "SELL", "CALL", "DELTA", 50, "SHORT", 5, 10),
        _leg(4, "BUY", "CALL", "STRIKE_DISTANCE", 25, "LONG", 3, 8),
    ]
}

ALLOCATIONS = {
    "allocations": [
        {
            "client_id": "ZERODHA123",
            "priority": 1,
            "allocation_config": {
                "type": "LEG_LEVEL",
                "leg_overrides": {
                    "1": {"lots": 3, "enabled": True, "notes": "Higher sell lots on Zerodha"},
                    "2": {"lots": 3, "enabled": True},
                    "3": {"lots": 1, "enabled": True, "notes": "Lower call lots due to margin"},
                    "4": {"lots": 1, "enabled": True},
                },
            },
            "risk_limits": {
                "max_daily_trades": 10,
                "max_daily_loss": 50000,
                "max_position_value": 500000,
                "max_margin_utilization": 70,
            },
        },
        {
            "client_id": "ANGELONE456",
            "priority": 2,
            "allocation_config": {
                "type": "LEG_LEVEL",
                "leg_overrides": {
                    "1": {"lots": 1, "enabled": True},
                    "2": {"lots": 1, "enabled": True},
                    "3": {"lots": 4, "enabled": True, "notes": "Angel One better for call options"},
                    "4": {"lots": 4, "enabled": True},
                },
            },
            "risk_limits": {
                "max_daily_trades": 15,
                "max_daily_loss": 30000,
                "max_position_value": 300000,
                "max_margin_utilization": 60,
            },
        },
    ]
}

BROKER_ACCOUNTS = [
    {"client_id": "ZERODHA123", "broker": "ZERODHA"},
    {"client_id": "ANGELONE456", "broker": "ANGELONE"},
]
