"""helpers.reporting.mix_plots (re-exported by plots): the channel report's charts stack what they
should, mark what they say they mark, refuse to draw without labels and fit the report column."""

from __future__ import annotations

import io
import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.reporting import plots

LABELS = {"title": "A title", "xlabel": "X (unit)", "ylabel": "Y (unit)"}
WEEKS = pd.DataFrame(
    {
        "date": pd.date_range("2025-01-06", periods=4, freq="7D"),
        "base": [10.0, 10.0, 10.0, 10.0],
        "tv": [2.0, 3.0, 0.0, 1.0],
        "price": [-1.0, 0.5, -2.0, 0.0],
        "actual": [11.0, 13.5, 8.0, 11.0],
    }
)
CURVES = pd.DataFrame(
    {
        "channel": ["tv"] * 3 + ["search"] * 3,
        "spend": [0.0, 100.0, 200.0, 0.0, 50.0, 100.0],
        "response": [0.0, 80.0, 120.0, 0.0, 60.0, 90.0],
        "response_low": [0.0, 70.0, 100.0, 0.0, 50.0, 80.0],
        "response_high": [0.0, 90.0, 140.0, 0.0, 70.0, 100.0],
        "is_current": [False, True, False, False, True, False],
    }
)
CHANNELS = pd.DataFrame({"channel": ["a", "b"], "cac": [20.0, 50.0], "value": [60.0, 40.0], "customers": [100, 10]})
STAGES = pd.DataFrame({"stage": ["lead", "qualified", "won"], "leads": [1000, 400, 100], "rate": [None, 0.4, 0.25]})
ROAS = pd.DataFrame({"channel": ["tv", "search"], "roas": [1.5, 3.0], "low": [1.1, 2.0], "high": [1.9, 4.2]})

CHARTS = {
    "stacked_area": lambda **kw: plots.stacked_area(WEEKS, "date", ["base", "tv", "price"], line="actual", **kw),
    "interval_dots": lambda **kw: plots.interval_dots(ROAS, "channel", "roas", "low", "high", reference=1.0, **kw),
    "response_curves": lambda **kw: plots.response_curves(CURVES, **kw),
    "cost_benefit": lambda **kw: plots.cost_benefit(CHANNELS, "cac", "value", "channel", size="customers", **kw),
    "funnel_bars": lambda **kw: plots.funnel_bars(STAGES, "stage", "leads", share="rate", **kw),
}


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _png_width(fig) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return struct.unpack(">I", buf.getvalue()[16:20])[0]


@pytest.mark.parametrize("chart", list(CHARTS))
@pytest.mark.parametrize("missing", list(LABELS))
def test_a_channel_chart_without_its_title_or_an_axis_label_is_refused(chart, missing):
    with pytest.raises(ValueError, match=missing):
        CHARTS[chart](**{**LABELS, missing: ""})
    assert plt.get_fignums() == []


@pytest.mark.parametrize("chart", list(CHARTS))
def test_every_channel_chart_fits_the_report_column(chart):
    fig = CHARTS[chart](**LABELS)
    assert _png_width(fig) <= 930
    assert fig.axes[0].get_title(loc="left") == "A title"


def test_stacked_area_stacks_positive_parts_up_and_negative_parts_down():
    fig = plots.stacked_area(WEEKS, "date", ["base", "tv", "price"], line="actual", **LABELS)
    ax = fig.axes[0]
    y_lo, y_hi = ax.get_ylim()
    assert y_hi >= 13.5 and y_lo <= -2.0  # base + tv + positive price on top; the negative price below zero
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["base", "tv", "price", "actual"]


def test_response_curves_mark_the_current_and_the_recommended_spend():
    fig = plots.response_curves(CURVES, optimal=pd.Series({"tv": 150.0, "search": 40.0}), **LABELS)
    ax = fig.axes[0]
    marks = {(tuple(np.round(line.get_xdata(), 6)), line.get_marker()) for line in ax.lines if len(line.get_xdata())}
    assert ((100.0,), "o") in marks and ((50.0,), "o") in marks  # current spend of each channel
    assert ((150.0,), "X") in marks and ((40.0,), "X") in marks  # recommended spend
    tv_cross = next(line for line in ax.lines if line.get_marker() == "X" and line.get_xdata()[0] == 150.0)
    assert tv_cross.get_ydata()[0] == pytest.approx(100.0)  # on the curve, halfway between 80 and 120


def test_cost_benefit_draws_the_break_even_line_and_scales_points_by_customers():
    ax = plots.cost_benefit(CHANNELS, "cac", "value", "channel", size="customers", **LABELS).axes[0]
    diagonal = next(line for line in ax.lines if "break-even" in line.get_label())
    x, y = diagonal.get_data()
    assert list(x) == list(y)
    sizes = ax.collections[0].get_sizes()
    assert sizes[0] > sizes[1]  # 100 customers against 10


def test_funnel_bars_write_the_count_and_the_conversion_from_the_stage_before():
    ax = plots.funnel_bars(STAGES, "stage", "leads", share="rate", **LABELS).axes[0]
    texts = [t.get_text().strip() for t in ax.texts]
    assert texts == ["1,000", "400  (40 % of the stage before)", "100  (25 % of the stage before)"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lead", "qualified", "won"]


def test_a_missing_column_is_named():
    with pytest.raises(ValueError, match="no column 'cost'"):
        plots.cost_benefit(CHANNELS, "cost", "value", "channel", **LABELS)
