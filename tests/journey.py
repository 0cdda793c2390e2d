"""The spec's journey 1 payloads, exactly as architecture.md writes them (one copy, in
local_platform/data/journey.json, which --demo sets up too)."""

import json
from pathlib import Path

_JOURNEY = json.loads(
    (Path(__file__).resolve().parents[1] / "local_platform" / "data" / "journey.json").read_text()
)

BASKET = _JOURNEY["basket"]
STRATEGY = _JOURNEY["strategy"]
LEGS = _JOURNEY["legs"]
ALLOCATIONS = _JOURNEY["allocations"]
BROKER_ACCOUNTS = _JOURNEY["broker_accounts"]

# What the spec's allocations trade: lots per (account, leg).
SPECS_LOTS = {
    ("ZERODHA123", 1): 3,
    ("ZERODHA123", 2): 3,
    ("ZERODHA123", 3): 1,
    ("ZERODHA123", 4): 1,
    ("ANGELONE456", 1): 1,
    ("ANGELONE456", 2): 1,
    ("ANGELONE456", 3): 4,
    ("ANGELONE456", 4): 4,
}
