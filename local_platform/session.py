"""What a session run shows while it runs (a progress line) and leaves behind (a report).

The progress line: simulated time, how far through the day, executions, orders, and P&L now.
The report, in --data-dir: report-YYYY-MM-DD.json (the API's daily report for every trader who
traded) and report-YYYY-MM-DD.html (the same as tables, with a chart of each strategy's P&L through
the day, sampled every few simulated minutes).
"""

from __future__ import annotations

import html
import json
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from shared_utils.domain.clock import IST, Clock
from shared_utils.engine.queries import ExecutionQueries

SAMPLE_EVERY = timedelta(minutes=5)
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


class SessionWatch:
    def __init__(
        self,
        queries: ExecutionQueries,
        clock: Clock,
        day: date,
        start: datetime,
        end: datetime,
        stream: TextIO = sys.stderr,
    ):
        self.queries, self.clock, self.day, self.start, self.end, self.stream = (
            queries,
            clock,
            day,
            start,
            end,
            stream,
        )
        self.executions = 0
        self.orders = 0
        self.traders: dict[str, set[str]] = defaultdict(set)  # user -> strategies that traded
        self.samples: dict[tuple[str, str], list[tuple[datetime, Decimal]]] = defaultdict(list)
        self._last_sample: datetime | None = None
        self._last_drawn = ""
        self._tty = stream.isatty()

    # -- watching ------------------------------------------------------------------------------
    def observe(self, function: str, payload: Any, result: Any) -> None:
        if (
            function == "strategy_executor"
            and isinstance(result, dict)
            and result.get("status") != "ALREADY_CLAIMED"
        ):
            self.executions += 1
            self.orders += int(result.get("successful_orders", 0)) + int(
                result.get("failed_orders", 0)
            )
            execution = payload.get("execution", {})
            self.traders[execution.get("user_id")].add(execution.get("strategy_id"))
        if function == "check_stop_loss" and isinstance(result, dict):
            for closed in result.get("executions", []):
                self.executions += 1
                self.orders += int(closed.get("successful_orders", 0)) + int(
                    closed.get("failed_orders", 0)
                )

    def on_idle(self) -> None:
        now = self.clock.now()
        if self._last_sample is None or now - self._last_sample >= SAMPLE_EVERY:
            self.sample(now)
        self.draw(now)

    def sample(self, now: datetime) -> None:
        self._last_sample = now
        for user_id, strategies in self.traders.items():
            for strategy_id in strategies:
                rows = self.queries.positions(user_id, strategy_id, None)
                self.samples[(user_id, strategy_id)].append(
                    (now, sum((r["pnl"] or Decimal(0) for r in rows), Decimal(0)))
                )

    def pnl_now(self) -> Decimal:
        return sum((series[-1][1] for series in self.samples.values() if series), Decimal(0))

    def draw(self, now: datetime, final: bool = False) -> None:
        local = now.astimezone(IST)
        done = min(max((now - self.start) / (self.end - self.start), 0), 1)
        bar = "#" * int(done * 30)
        line = (
            f"{local:%Y-%m-%d %H:%M} IST [{bar:<30}] {done:4.0%}  executions {self.executions}  orders {self.orders}"
            f"  P&L {self.pnl_now():,.2f}"
        )
        if self._tty:
            self.stream.write("\r" + line + "\x1b[K" + ("\n" if final else ""))
            self.stream.flush()
        elif final or (line[:22] != self._last_drawn[:22] and local.minute % 30 == 0):
            self.stream.write(line + "\n")  # a log, not a terminal: a line every half hour
            self.stream.flush()
        self._last_drawn = line

    # -- the report ----------------------------------------------------------------------------
    def write_report(
        self,
        data_dir: Path,
        timer: dict[str, Any] | None = None,
        traders_that_day: set[str] | None = None,
    ) -> tuple[Path, Path]:
        """`traders_that_day`: everyone with orders that day, as the table says (a session run again
        over the same data places nothing new, and its report must still show the day)."""
        reports = {
            user_id: _plain(self.queries.daily_report(user_id, self.day))
            for user_id in sorted(set(self.traders) | (traders_that_day or set()))
        }
        series = {
            f"{user_id}#{strategy_id}": [[t.isoformat(), float(p)] for t, p in points]
            for (user_id, strategy_id), points in self.samples.items()
        }
        document = {
            "date": self.day.isoformat(),
            "executions": self.executions,
            "orders": self.orders,
            "timer": timer or {},
            "traders": reports,
            "pnl_through_the_day": series,
        }
        json_path = data_dir / f"report-{self.day.isoformat()}.json"
        json_path.write_text(json.dumps(document, indent=2) + "\n")
        html_path = data_dir / f"report-{self.day.isoformat()}.html"
        html_path.write_text(render_html(document))
        (data_dir / f"report-{self.day.isoformat()}.svg").write_text(
            chart(series, _names(document)) + "\n"
        )
        return json_path, html_path


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _position_row(client_id: str, position: dict[str, Any]) -> str:
    return (
        f"<tr><td>{html.escape(client_id)}</td><td>{position['leg_no']}</td>"
        f"<td>{html.escape(position['tradingsymbol'])}</td><td>{position['quantity']}</td>"
        f"<td>{position['average_price'] if position['average_price'] is not None else '-'}</td>"
        f"<td>{position['last_price'] if position['last_price'] is not None else '-'}</td>"
        f"<td>{_money(position['realised_pnl'])}</td><td>{_money(position['pnl'])}</td></tr>"
    )


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    colour = "#2ca02c" if value > 0 else "#d62728" if value < 0 else "inherit"
    return f'<span style="color:{colour}">{value:,.2f}</span>'


def _names(document: dict[str, Any]) -> dict[str, str]:
    return {
        f"{user_id}#{s['strategy_id']}": s["strategy_name"] or s["strategy_id"]
        for user_id, report in document["traders"].items()
        for s in report["strategies"]
    }


def render_html(document: dict[str, Any]) -> str:
    names = {}
    sections = []
    for user_id, report in document["traders"].items():
        for strategy in report["strategies"]:
            key = f"{user_id}#{strategy['strategy_id']}"
            names[key] = strategy["strategy_name"] or strategy["strategy_id"]
            rows = [
                _position_row(account["client_id"], position)
                for account in strategy["accounts"]
                for position in account["positions"]
            ]
            accounts = "".join(
                f"<tr><td>{html.escape(a['client_id'])}</td><td>{a['orders']}</td><td>{a['filled']}</td><td>{a['not_filled']}</td>"
                f"<td>{a['premium']:,.2f}</td><td>{_money(a['realised_pnl'])}</td><td>{_money(a['unrealised_pnl'])}</td>"
                f"<td>{_money(a['pnl'])}</td></tr>"
                for a in strategy["accounts"]
            )
            sections.append(
                f"<h2>{html.escape(names[key])} <small>({html.escape(user_id)})</small></h2>"
                f"<p>P&amp;L {_money(strategy['pnl'])} from {strategy['orders']} orders.</p>"
                "<table><tr><th>account</th><th>orders</th><th>filled</th><th>not filled</th><th>premium</th>"
                f"<th>realised</th><th>open</th><th>P&amp;L</th></tr>{accounts}</table>"
                "<table><tr><th>account</th><th>leg</th><th>contract</th><th>quantity</th><th>average</th><th>last</th>"
                f"<th>realised</th><th>P&amp;L</th></tr>{''.join(rows)}</table>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Session {document['date']}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>"
        f"<h1>Session of {document['date']}</h1>"
        f"<p>{document['executions']} executions, {document['orders']} orders.</p>"
        f"{chart(document['pnl_through_the_day'], names)}{''.join(sections) or '<p>Nothing traded.</p>'}</body></html>\n"
    )


def chart(
    series: dict[str, list[list]], names: dict[str, str], width: int = 900, height: int = 320
) -> str:
    """Each strategy's P&L through the day, as an inline SVG line chart."""
    points = [(datetime.fromisoformat(t), p) for values in series.values() for t, p in values]
    if not points:
        return "<svg xmlns='http://www.w3.org/2000/svg' width='400' height='40'><text x='10' y='25'>No P&amp;L to chart.</text></svg>"
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    low: float = min(0.0, *(p for _, p in points))
    high: float = max(0.0, *(p for _, p in points))
    span, range_ = max((last - first).total_seconds(), 60.0), (high - low) or 1.0
    left, right, top, bottom = 80, width - 20, 20, height - 40

    def x(moment: datetime) -> float:
        return left + (moment - first).total_seconds() / span * (right - left)

    def y(value: float) -> float:
        return bottom - (value - low) / range_ * (bottom - top)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' aria-label='P&amp;L through the day'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<line x1='{left}' y1='{y(0):.1f}' x2='{right}' y2='{y(0):.1f}' stroke='#999' stroke-dasharray='4 3'/>",
        f"<text x='{left - 8}' y='{y(high) + 4:.1f}' text-anchor='end' font-size='12'>{high:,.0f}</text>",
        f"<text x='{left - 8}' y='{y(low) + 4:.1f}' text-anchor='end' font-size='12'>{low:,.0f}</text>",
        f"<text x='{left}' y='{height - 15}' font-size='12'>{first.astimezone(IST):%H:%M} IST</text>",
        f"<text x='{right}' y='{height - 15}' text-anchor='end' font-size='12'>{last.astimezone(IST):%H:%M} IST</text>",
    ]
    for index, (key, values) in enumerate(sorted(series.items())):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{x(datetime.fromisoformat(t)):.1f},{y(p):.1f}" for t, p in values)
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'/>")
        parts.append(
            f"<text x='{left + 10}' y='{top + 14 * (index + 1)}' font-size='12' fill='{colour}'>"
            f"{html.escape(names.get(key, key))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
