"""The session report: its chart is well-formed SVG whose lines follow the samples."""

import xml.etree.ElementTree as ET

from local_platform.session import chart, render_html

SERIES = {
    "u#s1": [
        ["2026-03-02T04:00:00+00:00", 0.0],
        ["2026-03-02T05:00:00+00:00", -500.0],
        ["2026-03-02T06:00:00+00:00", 250.0],
    ],
    "u#s2": [["2026-03-02T04:00:00+00:00", 100.0], ["2026-03-02T06:00:00+00:00", 100.0]],
}


def test_the_chart_draws_one_line_per_strategy_with_its_name_and_the_zero_line():
    # The chart this module drew, not untrusted input.
    svg = ET.fromstring(chart(SERIES, {"u#s1": "Iron Condor", "u#s2": "Straddle"}))  # noqa: S314
    lines = [e for e in svg if e.tag.endswith("polyline")]
    assert len(lines) == 2
    assert len(lines[0].attrib["points"].split()) == 3
    labels = [e.text for e in svg if e.tag.endswith("text")]
    assert "Iron Condor" in labels
    assert "Straddle" in labels
    assert "09:30 IST" in labels
    assert "11:30 IST" in labels
    first, lowest, last = (
        tuple(map(float, p.split(","))) for p in lines[0].attrib["points"].split()
    )
    assert lowest[1] > first[1] > last[1]  # SVG's y grows downwards: -500 is lowest on the page


def test_an_empty_day_still_renders():
    assert "No P&amp;L" in chart({}, {})
    page = render_html(
        {
            "date": "2026-03-02",
            "executions": 0,
            "orders": 0,
            "traders": {},
            "pnl_through_the_day": {},
        }
    )
    assert "Nothing traded." in page
    assert page.startswith("<!doctype html>")
