"""Whole `--session` days of the local platform with 1, 5 and 20 traders, each with the spec's
journey (the Weekly Iron Condor NIFTY on two accounts), measured in one run.

    .venv/bin/python -m benchmarks.local_day [--traders 1,5,20] [--day 2026-03-02] [--bound 1800]

For each count of traders: a fresh data dir, the traders signed up and set up over HTTP on a
Saturday evening (nothing is due then), then `./deploy.sh -e local --session DAY` on that data dir,
timed from the command to its exit, with the resident memory of its process group sampled from
/proc every half second. The platform is then started again on the same data dir to read, over the
API as each trader, the executions' `execution_time_ms` and the orders.

Printed: wall time per session, p50/p99/max execution time, orders per simulated minute (the
session's orders over its 375 minutes, and the busiest minute's), peak RSS, and each against one
trader; then the issue's goals (20 traders' day under 5 minutes, p99 execution under 2 s, peak RSS
under 1 GB, a session's cost growing no faster than the number of traders), each PASS or FAIL. It
is a benchmark, not a test: the numbers depend on the machine. Exit 1 only when a session did not
complete or a trader's entry never ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.realtime_day import set_up
from tests.e2e.conftest import WEEKEND_EVENING, Client, Platform, Session

SESSION_MINUTES = 375  # 09:15 to 15:30 IST
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Day:
    traders: int
    wall_seconds: float = 0.0
    peak_rss_bytes: int = 0
    execution_ms: list[int] = field(default_factory=list)
    orders: int = 0
    busiest_minute_orders: int = 0
    entries_completed: int = 0

    def percentile(self, share: float) -> float:
        if not self.execution_ms:
            return float("nan")
        ordered = sorted(self.execution_ms)
        return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


class GroupMemory:
    """The peak of the summed RSS of every process in one process group, sampled from /proc."""

    def __init__(self, group: int, every_seconds: float = 0.5):
        self.group, self.every_seconds = group, every_seconds
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def __enter__(self) -> GroupMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every_seconds):
            self.peak = max(self.peak, self.now())

    def now(self) -> int:
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) == self.group:  # field 5 of stat: the process group
                    statm = Path(entry.path, "statm").read_text().split()
                    total += int(statm[1]) * PAGE_SIZE
            except (OSError, ValueError, IndexError):  # the process ended while it was read
                continue
        return total


def run_day(traders: int, day: str, bound: float, root: Path) -> Day:
    data_dir = root / f"traders-{traders}"
    data_dir.mkdir()
    measured = Day(traders)
    platform = Platform(data_dir, WEEKEND_EVENING).start()
    strategies: dict[str, str] = {}
    try:
        for number in range(1, traders + 1):
            name = f"trader{number:02d}"
            strategies[name] = set_up(Client(platform, platform.sign_up(name)))
    finally:
        platform.stop()

    session = Session(data_dir, day).start()
    assert session.process is not None
    with GroupMemory(session.process.pid) as memory:
        session.wait(bound)
    measured.wall_seconds = session.seconds
    measured.peak_rss_bytes = memory.peak

    platform = Platform(data_dir, f"{day}T20:00:00+05:30").start()
    try:
        per_minute: Counter[str] = Counter()
        for name, strategy_id in strategies.items():
            client = Client(platform, platform.sign_in(name))
            history = client.get(f"/options/executions/history?strategy_id={strategy_id}").json()
            for execution in history["items"]:
                results = execution.get("execution_results") or {}
                if results.get("execution_time_ms") is not None:
                    measured.execution_ms.append(int(results["execution_time_ms"]))
                if execution["execution_type"] == "ENTRY" and execution["status"] == "COMPLETED":
                    measured.entries_completed += 1
            orders = client.get(f"/options/orders?strategy_id={strategy_id}").json()["items"]
            measured.orders += len(orders)
            per_minute.update(order["placed_at"][:16] for order in orders if order.get("placed_at"))
        measured.busiest_minute_orders = max(per_minute.values(), default=0)
    finally:
        platform.stop()
    return measured


def report(days: list[Day]) -> list[tuple[str, bool]]:
    one = days[0]
    header = ("traders", "wall s", "x1", "p50 ms", "p99 ms", "max ms", "orders", "orders/min",
              "busiest min", "peak RSS MB", "x1")  # fmt: skip
    rows = [header]
    rows.extend(
        (
            str(day.traders),
            f"{day.wall_seconds:.0f}",
            f"{day.wall_seconds / one.wall_seconds:.2f}",
            f"{day.percentile(0.5):.0f}",
            f"{day.percentile(0.99):.0f}",
            f"{max(day.execution_ms, default=0)}",
            str(day.orders),
            f"{day.orders / SESSION_MINUTES:.2f}",
            str(day.busiest_minute_orders),
            f"{day.peak_rss_bytes / 2**20:.0f}",
            f"{day.peak_rss_bytes / max(one.peak_rss_bytes, 1):.2f}",
        )
        for day in days
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    most = days[-1]
    goals = [
        (f"{most.traders} traders' day under 5 minutes", most.wall_seconds < 300),
        (f"p99 execution under 2 s ({most.traders} traders)", most.percentile(0.99) < 2000),
        (f"peak RSS under 1 GB ({most.traders} traders)", most.peak_rss_bytes < 2**30),
        (
            "a session's cost grows no faster than the number of traders",
            all(d.wall_seconds / one.wall_seconds <= d.traders / one.traders for d in days[1:]),
        ),
    ]
    for goal, met in goals:
        print(f"{'PASS' if met else 'FAIL'}  {goal}")
    return goals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_day", description=__doc__)
    parser.add_argument("--traders", default="1,5,20", help="counts of traders, ascending (1,5,20)")
    parser.add_argument("--day", default="2026-03-02", help="the trading day (2026-03-02)")
    parser.add_argument("--bound", type=float, default=1800.0, help="real s per session at most")
    args = parser.parse_args(argv)
    counts = sorted({int(count) for count in args.traders.split(",")})
    days: list[Day] = []
    with tempfile.TemporaryDirectory(prefix="local-day-") as root:
        for count in counts:
            day = run_day(count, args.day, args.bound, Path(root))
            print(
                f"{count} trader(s): {day.wall_seconds:.0f} s, {len(day.execution_ms)} executions, "
                f"{day.orders} orders, peak RSS {day.peak_rss_bytes / 2**20:.0f} MB",
                flush=True,
            )
            days.append(day)
            if day.entries_completed < count:
                print(f"FAIL: {count - day.entries_completed} trader(s)' entry never completed")
                report(days)
                return 1
    report(days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
