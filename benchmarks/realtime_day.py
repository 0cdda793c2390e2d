"""A smoke run of the platform on a real-time clock: the spec's journey set up over HTTP at 09:25 IST
with the clock at 60x, entered by the engine at 09:30, then watched to --until. It reports what the
machine's speed does to a fast clock; it is not a test (tests/e2e runs trading days with
`--session`, on a stepped clock, which no machine's speed changes).

    .venv/bin/python -m benchmarks.realtime_day [--speed 60] [--until 09:45] [--bound 900]

Reported: the real and simulated time the set-up took (it must end before 09:30 for the entry to
be due after it), when the entry completed, how far the orders' placement spread in simulated
time, how many LIMIT orders met a moved market and rest OPEN, and how late the timer's ticks came
after their minutes. It fails (exit 1) only when the entry has not completed within --bound real
seconds, or the set-up ran past 09:30.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Client, Platform
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

ENTRY = datetime.fromisoformat("2026-03-02T09:30:00+05:30")


def set_up(client: Client) -> str:
    for account in BROKER_ACCOUNTS:
        _created(client.post("/options/broker-accounts", account))
    basket = _created(client.post("/options/baskets", BASKET))
    strategy = _created(client.post(f"/options/baskets/{basket['basket_id']}/strategies", STRATEGY))
    strategy_id: str = strategy["strategy_id"]
    _created(client.post(f"/options/strategies/{strategy_id}/legs", LEGS))
    _created(client.post(f"/options/strategies/{strategy_id}/allocations/advanced", ALLOCATIONS))
    return strategy_id


def _created(answer: Any) -> dict[str, Any]:
    if answer.status_code != 201:
        raise SystemExit(f"set-up refused: {answer.status_code} {answer.text[:500]}")
    body: dict[str, Any] = answer.json()
    return body


def entry_of(client: Client, strategy_id: str) -> dict[str, Any] | None:
    items = client.get(f"/options/executions/history?strategy_id={strategy_id}").json()["items"]
    return next(
        (h for h in items if h["execution_type"] == "ENTRY" and h["status"] == "COMPLETED"), None
    )


def run(speed: float, until: str, bound: float, data_dir: Path) -> int:
    began = time.monotonic()
    platform = Platform(data_dir, "2026-03-02T09:25:00+05:30", speed).start()
    try:
        started = time.monotonic()
        asha = Client(platform, platform.sign_up("asha"))
        strategy_id = set_up(asha)
        set_up_at = platform.now()
        set_up_seconds = time.monotonic() - started
        entry = None
        deadline = time.monotonic() + bound
        while entry is None and time.monotonic() < deadline:
            entry = entry_of(asha, strategy_id)
            time.sleep(0.5)
        entered_seconds = time.monotonic() - started
        end = datetime.fromisoformat(f"2026-03-02T{until}:00+05:30")
        while platform.now() < end and time.monotonic() < deadline:
            time.sleep(1)
        orders = asha.get(f"/options/orders?strategy_id={strategy_id}").json()["items"]
        timer = platform.engine()["timer"]
    finally:
        platform.stop()
    entries = [o for o in orders if o["execution_type"] == "ENTRY"]
    placed = sorted(datetime.fromisoformat(o["placed_at"].replace("Z", "+00:00")) for o in entries)
    rows = [
        ("clock speed", f"{speed:g}x"),
        ("platform start (real s)", f"{started - began:.1f}"),
        ("set-up (real s)", f"{set_up_seconds:.1f}"),
        ("set-up ended at (IST)", f"{set_up_at.astimezone(ENTRY.tzinfo):%H:%M:%S}"),
        ("entry completed after (real s)", f"{entered_seconds:.1f}" if entry else "never"),
        ("entry completed at (UTC)", entry["completed_at"] if entry else "-"),
        (
            "placement spread (simulated s)",
            f"{(placed[-1] - placed[0]).total_seconds():.0f}" if placed else "-",
        ),
        (
            "entry orders COMPLETE / OPEN / other",
            "{} / {} / {}".format(
                sum(o["status"] == "COMPLETE" for o in entries),
                sum(o["status"] == "OPEN" for o in entries),
                sum(o["status"] not in ("COMPLETE", "OPEN") for o in entries),
            ),
        ),
        ("orders after the entry", str(len(orders) - len(entries))),
        ("timer ticks", str(timer.get("ticks"))),
        (
            "latest tick after its minute (simulated s)",
            str(timer.get("max_seconds_after_the_minute")),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    if set_up_at >= ENTRY:
        print(f"FAIL: the set-up ran past 09:30 at {speed:g}x: this machine is too slow for it")
        return 1
    if entry is None:
        print(f"FAIL: the 09:30 entry did not complete in {bound:.0f} real seconds")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realtime_day", description=__doc__)
    parser.add_argument("--speed", type=float, default=60.0, help="simulated s per real s (60)")
    parser.add_argument("--until", default="09:45", help="watch to this IST time, HH:MM (09:45)")
    parser.add_argument("--bound", type=float, default=900.0, help="real s to wait at most (900)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="realtime-day-") as data_dir:
        return run(args.speed, args.until, args.bound, Path(data_dir))


if __name__ == "__main__":
    sys.exit(main())
