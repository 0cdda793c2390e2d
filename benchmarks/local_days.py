"""Consecutive `--session` days of one trader on one data dir: does a day cost more as the days pile up?

    .venv/bin/python -m benchmarks.local_days [--days 30] [--first 2026-03-02] [--traders 1]
                                              [--data-dir DIR] [--bound 1800] [--tolerance 1.25]

One data dir, set up once on a Saturday evening (nothing is due then) with the spec's journey per
trader (the Weekly Iron Condor NIFTY: it enters on Mondays and exits on Fridays), then
`./deploy.sh -e local --session DAY` for each trading day after the other, as an operator would run
a month of paper trading. Each day is timed from the command to its exit, and the peak of the
summed resident memory of its process group (the platform and its moto process) is sampled from
/proc while it runs.

Printed, one line per day as it ends: the wall time, the peak RSS, the executions and orders of
its report, the size of the data dir's state on disk, and the wall time and RSS against the first
day; then whether every day stayed within --tolerance of the first (the issue's goal: each day no
slower than the first; a Monday enters and a Friday exits, so the tolerance absorbs that work and
the machine's noise). A benchmark, not a test: the numbers depend on the machine. Exit 1 when a
session did not complete.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchmarks.local_day import GroupMemory
from benchmarks.realtime_day import set_up
from shared_utils.market.calendar import built_in_calendar
from tests.e2e.conftest import WEEKEND_EVENING, Client, Platform, Session


@dataclass
class DayRun:
    day: date
    wall_seconds: float
    peak_rss_bytes: int
    executions: int
    orders: int
    state_bytes: int


def trading_days(first: date, count: int) -> list[date]:
    calendar = built_in_calendar()
    day = first if calendar.is_trading_day(first) else calendar.next_trading_day(first)
    days = [day]
    while len(days) < count:
        days.append(calendar.next_trading_day(days[-1]))
    return days


def set_up_traders(data_dir: Path, traders: int) -> None:
    platform = Platform(data_dir, WEEKEND_EVENING).start()
    try:
        for number in range(1, traders + 1):
            name = f"trader{number:02d}"
            set_up(Client(platform, platform.sign_up(name)))
    finally:
        platform.stop()


def state_bytes(data_dir: Path) -> int:
    """What the platform keeps on disk between days (state snapshots and journal), reports aside."""
    return sum(
        path.stat().st_size
        for path in data_dir.rglob("*")
        if path.is_file()
        and not path.name.startswith(("report-", "session-"))
        and path.suffix != ".log"
    )


def run_day(data_dir: Path, day: date, bound: float) -> DayRun:
    session = Session(data_dir, day.isoformat()).start()
    assert session.process is not None
    with GroupMemory(session.process.pid) as memory:
        report = session.wait(bound)
    return DayRun(
        day,
        session.seconds,
        memory.peak,
        int(report["executions"]),
        int(report["orders"]),
        state_bytes(data_dir),
    )


def line(run: DayRun, first: DayRun) -> str:
    return (
        f"{run.day}  {run.wall_seconds:7.1f} s  x{run.wall_seconds / first.wall_seconds:4.2f}"
        f"  peak RSS {run.peak_rss_bytes / 2**20:6.0f} MB  x{run.peak_rss_bytes / max(first.peak_rss_bytes, 1):4.2f}"
        f"  executions {run.executions:3d}  orders {run.orders:4d}  state {run.state_bytes / 2**20:6.2f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_days", description=__doc__)
    parser.add_argument("--days", type=int, default=30, help="trading days to run (30)")
    parser.add_argument("--first", type=date.fromisoformat, default=date(2026, 3, 2))
    parser.add_argument("--traders", type=int, default=1, help="traders set up (1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the data dir here (default: a temporary one)",
    )
    parser.add_argument("--bound", type=float, default=1800.0, help="real s per session at most")
    parser.add_argument(
        "--tolerance", type=float, default=1.25, help="a day's wall time over the first's at most"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="local-days-") as temporary:
        data_dir = args.data_dir or Path(temporary) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        set_up_traders(data_dir, args.traders)
        print(
            f"{args.traders} trader(s) set up on {data_dir} in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        runs: list[DayRun] = []
        for day in trading_days(args.first, args.days):
            try:
                runs.append(run_day(data_dir, day, args.bound))
            except (TimeoutError, RuntimeError) as error:
                print(f"FAIL: the session of {day} did not complete: {error}", flush=True)
                return 1
            print(line(runs[-1], runs[0]), flush=True)
    first = runs[0]
    slowest = max(runs, key=lambda run: run.wall_seconds)
    met = all(run.wall_seconds <= args.tolerance * first.wall_seconds for run in runs)
    print(
        f"{'PASS' if met else 'FAIL'}  each of {len(runs)} days within x{args.tolerance:g} of the"
        f" first's wall time (slowest {slowest.day}: x{slowest.wall_seconds / first.wall_seconds:.2f});"
        f" peak RSS {min(r.peak_rss_bytes for r in runs) / 2**20:.0f}-"
        f"{max(r.peak_rss_bytes for r in runs) / 2**20:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
