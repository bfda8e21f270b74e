"""helpers.reporting.plots: the colour-blind-safe palette, readable sizes, number formats on the
axes, the calibration/holdout split, and the refusal to draw a chart without its labels."""

from __future__ import annotations

import io
import itertools
import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

from helpers.reporting import metrics, plots

MINUS = "\u2212"


@pytest.fixture(autouse=True)
def _clean_matplotlib():
    """Each test leaves no figure open and no theme behind (rcParams restored)."""
    with matplotlib.rc_context():
        yield
        plt.close("all")


# --- colour science (sRGB -> CIELAB, Machado et al. 2009 dichromacy simulation, CIEDE2000) ----

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(colors, vision="normal"):
    """CIELAB (D65) of hex colours as a person with ``vision`` sees them."""
    lin = np.clip(_linear([to_rgb(c) for c in colors]) @ CVD[vision].T, 0, 1)
    xyz = lin @ np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]).T  # fmt: skip
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _ciede2000(lab1, lab2) -> float:
    """Colour difference CIEDE2000 (Sharma, Wu & Dalal 2005); ~2.3 is just noticeable."""
    (L1, a1, b1), (L2, a2, b2) = lab1, lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_hp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2)))) * 2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25**7))
    dl, dc, dh_ = (L2 - L1) / s_l, (c2p - c1p) / s_c, d_hp / s_h
    return float(np.sqrt(dl**2 + dc**2 + dh_**2 + r_t * dc * dh_))


def _closest_pair(colors, vision) -> float:
    lab = _lab(colors, vision)
    return min(_ciede2000(lab[i], lab[j]) for i, j in itertools.combinations(range(len(colors)), 2))


def _contrast_on_white(color) -> float:
    luminance = float(_linear(to_rgb(color)) @ np.array([0.2126, 0.7152, 0.0722]))
    return 1.05 / (luminance + 0.05)


# --- palette ---------------------------------------------------------------------------------


def test_the_palette_is_okabe_ito_without_the_yellow():
    assert plots.PALETTE == ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    assert set(plots.PALETTE) <= set(plots.OKABE_ITO.values())
    assert plots.OKABE_ITO["yellow"] not in plots.PALETTE


def test_the_sample_cie_difference_is_right():
    # Sharma, Wu & Dalal (2005), table 1, pairs 1 and 17
    assert _ciede2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert _ciede2000((50.0, 2.5, 0.0), (73.0, 25.0, -18.0)) == pytest.approx(27.1492, abs=1e-4)


@pytest.mark.parametrize("vision", list(CVD))
def test_every_two_palette_colours_stay_apart_with_and_without_colour_blindness(vision):
    """CIEDE2000 >= 10 between every two colours (about four times a just-noticeable
    difference), for normal vision and simulated protanopia, deuteranopia and tritanopia."""
    assert _closest_pair(plots.PALETTE, vision) >= 10


def test_the_distance_check_would_catch_a_red_green_palette():
    old = ["#1f5f8b", "#e07b39", "#3a9d5d", "#c2404d", "#7d5ba6", "#8c6d46", "#d477b0", "#6f7378"]
    assert _closest_pair(old, "deuteranopia") < 10  # the palette this module had before
    assert _closest_pair(["#d62728", "#2ca02c"], "normal") >= 10  # red and green: apart for most ...
    assert _closest_pair(["#ff7f0e", "#2ca02c"], "protanopia") < 10  # ... orange and green merge


def test_every_palette_colour_reads_on_white_and_the_yellow_would_not():
    assert min(_contrast_on_white(c) for c in plots.PALETTE) >= 2.0
    assert _contrast_on_white(plots.OKABE_ITO["yellow"]) < 1.5


def test_the_heatmap_colour_map_gets_darker_steadily_so_it_reads_in_grey():
    cmap = sns.color_palette(plots.SEQUENTIAL_CMAP, as_cmap=True)
    colors = [to_hex(cmap(v)) for v in np.linspace(0, 1, 64)]
    for vision in CVD:
        lightness = _lab(colors, vision)[:, 0]
        assert np.all(np.diff(lightness) < 0), vision  # low = light, high = dark
        assert lightness[0] - lightness[-1] > 60
    rainbow = [to_hex(matplotlib.colormaps["jet"](v)) for v in np.linspace(0, 1, 64)]
    assert not np.all(np.diff(_lab(rainbow)[:, 0]) < 0)  # the check is not vacuous


def test_the_theme_uses_the_palette_and_the_colour_map():
    plots.use_theme()
    cycle = [to_hex(c["color"]).lower() for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle[: len(plots.PALETTE)] == [c.lower() for c in plots.PALETTE]
    assert plt.rcParams["image.cmap"] == plots.SEQUENTIAL_CMAP
    assert plt.rcParams["text.parse_math"] is False


# --- number formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "kwargs", "expected"),
    [
        (12345, "count", {}, "12,345"),
        (1234567, "count", {}, "1,234,567"),
        (-1234, "count", {}, MINUS + "1,234"),
        (2.5, "count", {"ticks": [0, 2.5, 5]}, "2.5"),
        (2.0, "count", {"ticks": [0, 0.5, 1, 1.5, 2]}, "2.0"),
        (0.256, "share", {}, "26 %"),
        (0.256, "share", {"span": 0.5}, "26 %"),  # a 50-point axis: no decimals
        (0.256, "share", {"span": 0.05}, "25.6 %"),  # a 5-point axis: one decimal
        (0.025, "share", {"span": 0.3, "ticks": [0, 0.025, 0.05]}, "2.5 %"),  # ticks need one
        (0.0, "share", {}, "0 %"),
        (-0.004, "share", {"span": 0.5}, "0 %"),  # no "−0 %"
        (0.0123, "share", {}, "1.2 %"),
        (45, "percent", {}, "45 %"),
        (45, "pct", {"span": 5}, "45.0 %"),
        (12345, "money", {"currency": "$"}, "$12,345"),
        (12345, "money", {"currency": "USD"}, "12,345 USD"),
        (12345, "money", {}, "12,345"),
        (-12345, "money", {"currency": "$"}, MINUS + "$12,345"),
        (12.5, "money", {"currency": "€"}, "€12.50"),
        (50, "money", {"currency": "$", "ticks": [0, 50, 100]}, "$50"),
        (2_500_000, "money", {"currency": "$"}, "$2.5M"),
        (2_000_000, "money", {"currency": "$", "ticks": [0, 1e6, 2e6, 3e6]}, "$2M"),
        (1_500_000, "money", {"currency": "EUR", "ticks": [0, 5e5, 1e6, 1.5e6]}, "1.5M EUR"),
        (0, "money", {"currency": "$", "ticks": [0, 5e5, 1e6, 1.5e6]}, "$0"),
        (float("nan"), "count", {}, ""),
    ],
)
def test_numbers_are_written_as_in_the_reports(value, kind, kwargs, expected):
    assert plots.format_tick(value, kind, **kwargs) == expected


def test_an_unknown_number_format_is_refused():
    with pytest.raises(ValueError, match="count, share, percent, money"):
        plots.format_tick(1, "dollars")
    with pytest.raises(ValueError, match="Unknown number format"):
        plots.line(pd.DataFrame({"x": [1, 2], "y": [1, 2]}), "x", "y", title="t", xlabel="x", ylabel="y", yfmt="%")


def _tick_texts(fig, axis="y"):
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    lo, hi = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    getter = (lambda t: t.get_position()[1]) if axis == "y" else (lambda t: t.get_position()[0])
    return [t.get_text() for t in labels if lo - 1e-9 <= getter(t) <= hi + 1e-9]


def test_axis_formats_follow_the_axis_range():
    wide = pd.DataFrame({"x": [0, 1, 2], "y": [0.0, 0.15, 0.3]})
    narrow = pd.DataFrame({"x": [0, 1, 2], "y": [0.20, 0.22, 0.24]})
    labels = _tick_texts(plots.line(wide, "x", "y", title="t", xlabel="x (n)", ylabel="y (%)", yfmt="share"))
    assert "10 %" in labels and "30 %" in labels and all(t.endswith(" %") and "." not in t for t in labels)
    labels = _tick_texts(plots.line(narrow, "x", "y", title="t", xlabel="x (n)", ylabel="y (%)", yfmt="share"))
    assert "22.0 %" in labels and all(t.endswith(".0 %") or t.endswith(".5 %") for t in labels)


def test_count_and_money_axes_get_separators_whole_ticks_and_the_currency():
    frame = pd.DataFrame({"x": [0, 1, 2, 3], "orders": [0, 1, 2, 3], "value": [0, 1.2e6, 2.4e6, 3.1e6]})
    fig = plots.line(frame, "x", "orders", title="t", xlabel="x (n)", ylabel="Orders (count)", yfmt="count")
    assert _tick_texts(fig) == ["0", "1", "2", "3"]  # whole numbers, no "0.5"
    fig = plots.line(frame, "x", "value", title="t", xlabel="x", ylabel="Revenue ($)", yfmt="money", currency="$")
    labels = _tick_texts(fig)
    assert labels[:3] == ["$0", "$0.5M", "$1.0M"]  # one number of decimals along the axis
    big = pd.Series([12_000, 48_000], index=["a", "b"])
    fig = plots.bar(big, title="t", xlabel="Channel", ylabel="Orders (count)", yfmt="count")
    assert "40,000" in _tick_texts(fig)


def test_money_without_a_currency_uses_the_runs_currency(monkeypatch):
    monkeypatch.setattr(metrics, "_currency", "EUR")
    frame = pd.DataFrame({"x": [0, 1], "v": [0, 40_000]})
    labels = _tick_texts(plots.line(frame, "x", "v", title="t", xlabel="x", ylabel="Value (EUR)", yfmt="money"))
    assert "40,000 EUR" in labels
    assert plots.axis_formatter("money", currency="")(5000) == "5,000"


def test_formats_go_on_value_axes_only():
    series = pd.Series([1, 2], index=["a", "b"])
    with pytest.raises(ValueError, match="category axis"):
        plots.bar(series, title="t", xlabel="Channel", ylabel="Orders", xfmt="count")
    with pytest.raises(ValueError, match="category axis"):
        plots.bar(series, title="t", xlabel="Orders", ylabel="Channel", horizontal=True, yfmt="count")
    fig = plots.bar(series * 1000, title="t", xlabel="Orders", ylabel="Channel", horizontal=True, xfmt="count")
    assert "2,000" in _tick_texts(fig, "x")
    dated = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=3, freq="MS"), "y": [1, 2, 3]})
    with pytest.raises(ValueError, match="date axis"):
        plots.line(dated, "d", "y", title="t", xlabel="Month", ylabel="Rows", xfmt="count")
    assert plt.get_fignums() == [fig.number]  # the refused charts opened no figure


# --- the calibration / holdout split ---------------------------------------------------------

WEEKS = pd.DataFrame(
    {
        "period_start": pd.date_range("1997-01-01", periods=78, freq="7D"),
        "actual": np.linspace(10, 50, 78),
        "expected": np.linspace(12, 48, 78),
    }
)


def _split_artists(ax):
    lines = [ln for ln in ax.lines if ln.get_gid() == "split-line"]
    shades = [p for p in ax.patches if p.get_gid() == "split-shade"]
    return lines, shades


def test_line_marks_the_split_on_a_date_axis():
    fig = plots.line(
        WEEKS, "period_start", ["actual", "expected"], labels=["actual", "BG/NBD"],
        title="Repeat purchases per week", xlabel="Date", ylabel="Repeat purchases per week (count)",
        yfmt="count", split_at="1997-10-01",
    )  # fmt: skip
    ax = fig.axes[0]
    lines, shades = _split_artists(ax)
    split = mdates.date2num(pd.Timestamp("1997-10-01").to_datetime64())
    assert len(lines) == 1 and len(shades) == 1
    assert list(lines[0].get_xdata()) == [split, split] and lines[0].get_linestyle() == "--"
    left, right = ax.get_xlim()
    shade = shades[0]  # a Rectangle (a Polygon before matplotlib 3.9)
    shade_x = (
        [shade.get_x(), shade.get_x() + shade.get_width()] if hasattr(shade, "get_width") else shade.get_xy()[:, 0]
    )
    assert min(shade_x) == pytest.approx(split) and max(shade_x) == pytest.approx(right) and left < split
    texts = {t.get_text() for t in ax.texts}
    assert {"calibration ends", "← calibration period", "holdout period →"} <= texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["actual", "BG/NBD", "holdout period", "calibration ends"]
    top_of_data = max(WEEKS["actual"].max(), WEEKS["expected"].max())
    assert ax.get_ylim()[1] > top_of_data + 0.1 * (top_of_data - ax.get_ylim()[0])  # room for the labels


def test_the_split_takes_timestamps_numbers_and_custom_names():
    fig = plots.line(
        WEEKS, "period_start", "actual", title="t", xlabel="Date", ylabel="Purchases (count)",
        split_at=pd.Timestamp("1997-10-01"), split_label="model fitted up to here", split_labels=("fit", "test"),
    )  # fmt: skip
    ax = fig.axes[0]
    assert _split_artists(ax)[0][0].get_xdata()[0] == mdates.date2num(np.datetime64("1997-10-01"))
    assert {"model fitted up to here", "← fit", "test →"} <= {t.get_text() for t in ax.texts}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual", "test", "model fitted up to here"]
    numeric = pd.DataFrame({"week": range(20), "y": range(20)})
    fig = plots.line(numeric, "week", "y", title="t", xlabel="Week", ylabel="Purchases (count)", split_at=12)
    assert list(_split_artists(fig.axes[0])[0][0].get_xdata()) == [12, 12]


def test_a_split_of_the_wrong_kind_is_refused():
    with pytest.raises(ValueError, match="date"):
        plots.line(WEEKS, "period_start", "actual", title="t", xlabel="Date", ylabel="n", split_at=12)
    with pytest.raises(ValueError, match="not a date"):
        plots.line(WEEKS, "period_start", "actual", title="t", xlabel="Date", ylabel="n", split_at="soon")
    numeric = pd.DataFrame({"week": range(5), "y": range(5)})
    with pytest.raises(ValueError, match="number"):
        plots.line(numeric, "week", "y", title="t", xlabel="Week", ylabel="n", split_at="1997-10-01")


def test_mark_split_works_on_any_axes():
    fig, ax = plt.subplots()
    ax.plot(WEEKS["period_start"], WEEKS["actual"])
    plots.mark_split(ax, "1997-10-01")
    assert len(_split_artists(ax)[0]) == 1
    plt.close(fig)


# --- lines without colour, legends, sizes ----------------------------------------------------


def test_several_lines_differ_by_style_and_marker_not_only_by_colour():
    frame = pd.DataFrame({"m": range(18), **{f"c{i}": np.linspace(1, 0.1 * i, 18) for i in range(6)}})
    fig = plots.line(frame, "m", [f"c{i}" for i in range(6)], title="t", xlabel="Months", ylabel="Share (%)")
    styles = [(ln.get_linestyle(), ln.get_marker()) for ln in fig.axes[0].lines]
    colours = [to_hex(ln.get_color()).lower() for ln in fig.axes[0].lines]
    assert len(set(styles)) == 6 and len({m for _, m in styles}) == 6 and len({s for s, _ in styles}) >= 4
    assert colours == [c.lower() for c in plots.PALETTE[:6]]
    single = plots.line(frame, "m", "c1", title="t", xlabel="Months", ylabel="Share (%)")
    assert single.axes[0].get_legend() is None and single.axes[0].lines[0].get_linestyle() == "-"


def test_a_legend_of_several_series_sits_outside_the_data_but_inside_the_image():
    fig = plots.line(WEEKS, "period_start", ["actual", "expected"], title="t", xlabel="Date", ylabel="n")
    fig.canvas.draw()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1 and legend_box.x1 <= fig.bbox.x1


def _png_width(fig) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return struct.unpack(">I", buf.getvalue()[16:20])[0]


def _smallest_text_px(fig) -> float:
    fig.canvas.draw()
    sizes = [
        t.get_fontsize()
        for ax in fig.axes
        for t in [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.texts, ax.xaxis.label, ax.yaxis.label]
        if t.get_text() and t.get_visible()
    ]
    return min(sizes) * fig.dpi / 72


def test_charts_fit_the_report_column_with_readable_text():
    retention = pd.DataFrame(np.full((12, 18), 0.2), index=[f"1997-{m:02d}" for m in range(1, 13)])
    figures = [
        plots.line(
            WEEKS, "period_start", ["actual", "expected"], labels=["actual", "a model with a long name"],
            title="t", xlabel="Date", ylabel="n", split_at="1997-10-01",
        ),
        plots.bar(pd.Series(range(12), index=[f"channel {i}" for i in range(12)]), title="t", xlabel="c", ylabel="n"),
        plots.heatmap(retention, title="t", xlabel="Months", ylabel="Cohort", colorbar_label="Share buying (%)"),
        plots.roc({"a": {"false_positive_rate": [0, 1], "true_positive_rate": [0, 1]}}, {"a": 0.5}, title="t"),
    ]  # fmt: skip
    for fig in figures:
        assert 100 <= fig.dpi <= 120
        assert _png_width(fig) <= 930
        assert _smallest_text_px(fig) >= plots.MIN_TEXT_PX


# --- labels are required; the existing calls still work -------------------------------------

FRAME = pd.DataFrame({"x": [1, 2, 3], "a": [1.0, 2.0, 3.0], "b": [2.0, 1.0, 0.5]})
BINS = pd.DataFrame({"left": [0.0, 1.0], "right": [1.0, 2.0], "rows": [3, 4]})
CHARTS = {
    "bar": lambda **kw: plots.bar(FRAME.set_index("x")["a"], **kw),
    "histogram": lambda **kw: plots.histogram(BINS, **kw),
    "line": lambda **kw: plots.line(FRAME, "x", ["a", "b"], **kw),
    "heatmap": lambda **kw: plots.heatmap(FRAME, colorbar_label="Share (%)", **kw),
    "grouped_bar": lambda **kw: plots.grouped_bar(FRAME, "x", ["a", "b"], **kw),
}
LABELS = {"title": "A title", "xlabel": "X (unit)", "ylabel": "Y (unit)"}


@pytest.mark.parametrize("chart", list(CHARTS))
@pytest.mark.parametrize("missing", list(LABELS))
@pytest.mark.parametrize("blank", ["", "  ", None])
def test_a_chart_without_its_title_or_an_axis_label_is_refused(chart, missing, blank):
    with pytest.raises(ValueError, match=missing):
        CHARTS[chart](**{**LABELS, missing: blank})
    assert plt.get_fignums() == []  # refused before a figure was made


def test_roc_needs_a_title_and_a_heatmap_its_colour_bar_label():
    with pytest.raises(ValueError, match="title"):
        plots.roc({}, {}, title="")
    with pytest.raises(ValueError, match="colorbar_label"):
        plots.heatmap(FRAME, **LABELS)
    with pytest.raises(ValueError, match="colorbar_label"):
        plots.heatmap(FRAME, colorbar_label=" ", **LABELS)
    assert plt.get_fignums() == []


def test_the_heatmap_labels_its_colour_bar_and_writes_percentages_as_the_reports_do():
    frame = pd.DataFrame([[1.0, 0.25], [np.nan, 0.125]], index=["1997-01", "1997-02"], columns=[0, 1])
    fig = plots.heatmap(frame, colorbar_label="Share of cohort buying (%)", vmax=0.3, **LABELS)
    ax, cbar_ax = fig.axes
    assert cbar_ax.get_ylabel() == "Share of cohort buying (%)"
    assert {t.get_text() for t in ax.texts} == {"100 %", "25 %", "12 %"}  # the NaN cell stays blank
    fig.canvas.draw()
    assert "30 %" in [t.get_text() for t in cbar_ax.get_yticklabels()]
    other = plots.heatmap(frame.fillna(0) * 1000, fmt=",.0f", colorbar_label="Orders (count)", **LABELS)
    assert "1,000" in {t.get_text() for t in other.axes[0].texts}


def test_the_notebooks_calls_still_work():
    """The calls in notebooks/clv.ipynb and notebooks/data_quality.ipynb, unchanged."""
    plots.use_theme()
    tr = WEEKS.assign(actual_cumulative=WEEKS["actual"].cumsum(), expected_cumulative=WEEKS["expected"].cumsum())
    holdout = pd.DataFrame({"calibration_repeat_purchases": range(4), "actual": [0.1, 0.5, 1, 2], "predicted": [0.2, 0.4, 1.1, 1.8]})  # fmt: skip
    tiers = pd.DataFrame({"value_tier": ["top", "middle", "rest"], "share_of_value_pct": [60.0, 30.0, 10.0]})
    ret = pd.DataFrame(np.triu(np.full((4, 5), 0.2)), index=pd.date_range("1997-01-01", periods=4, freq="MS"))
    curves = ret.T.reset_index().rename(columns=lambda d: d.strftime("%Y-%m") if hasattr(d, "strftime") else d)
    curves = curves.rename(columns={"index": "months_since_first_purchase"})
    figs = [
        plots.grouped_bar(holdout, "calibration_repeat_purchases", ["actual", "predicted"], labels=["actual", "predicted"],
                          title="Holdout purchases", xlabel="Repeat purchases", ylabel="Mean purchases in holdout"),
        plots.line(tr, "period_start", ["actual_cumulative", "expected_cumulative"], labels=["actual", "BG/NBD"],
                   title="Cumulative", xlabel="Date", ylabel="Repeat purchases (cumulative count)"),
        plots.bar(tiers.set_index("value_tier")["share_of_value_pct"], title="Share of predicted value by tier",
                  xlabel="Value tier", ylabel="Share of total predicted CLV (%)"),
        plots.roc({"a": {"false_positive_rate": [0, 0.5, 1], "true_positive_rate": [0, 0.8, 1]}}, {"a": 0.65}, title="ROC"),
        plots.heatmap(ret.rename(index=lambda d: d.strftime("%Y-%m")), title="Monthly cohort retention",
                      xlabel="Months since first purchase", ylabel="Cohort", colorbar_label="Share of cohort buying",
                      vmax=ret.iloc[:, 1:].max().max()),
        plots.line(curves, "months_since_first_purchase", list(curves.columns[1:7]), title="Retention curves",
                   xlabel="Months since first purchase", ylabel="Share of cohort buying (0-1)"),
        plots.line(tr.rename(columns={"period_start": "month", "actual": "rows"}), "month", "rows",
                   title="Rows per month (date)", xlabel="Month", ylabel="Rows (count)"),
        plots.histogram(BINS, title="Distribution of amount", xlabel="amount (file units)"),
    ]  # fmt: skip
    assert all(isinstance(f, Figure) for f in figs)


# --- survey charts: diverging Likert bars and the quadrant chart -----------------------------

LIKERT = pd.DataFrame(
    {1: [10.0, 0.0], 2: [20.0, 10.0], 3: [30.0, 20.0], 4: [25.0, 40.0], 5: [15.0, 30.0], "n": [200, 180]},
    index=pd.Index(["Prices are fair", "Delivery is fast"], name="item"),
)
AGREE = {1: "Strongly disagree", 2: "Disagree", 3: "Neutral", 4: "Agree", 5: "Strongly agree"}
IPA = pd.DataFrame(
    {
        "driver": ["price", "quality", "service", "delivery", "website"],
        "importance": [0.25, 0.20, 0.12, 0.08, 0.05],
        "performance": [0.40, 0.72, 0.60, 0.78, 0.55],
    }
)
SURVEY_CHARTS = {
    "diverging_likert": lambda **kw: plots.diverging_likert(LIKERT, **kw),
    "quadrant": lambda **kw: plots.quadrant(IPA, "importance", "performance", "driver", **kw),
}


def _segments(ax, row):
    """(left, right, colour) of the bar pieces of one row, left to right."""
    pieces = [p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - row) < 1e-9 and p.get_width() > 0]
    return sorted((p.get_x(), p.get_x() + p.get_width(), to_hex(p.get_facecolor())) for p in pieces)


def test_diverging_likert_puts_disagreement_left_agreement_right_and_splits_the_neutral():
    fig = plots.diverging_likert(LIKERT, title="Agreement", ylabel="Statement", labels=AGREE)
    ax = fig.axes[0]
    edges = [(round(a, 9), round(b, 9)) for a, b, _ in _segments(ax, 0)]
    # 1: 10 %, 2: 20 % left of the neutral half (15 %); 4: 25 %, 5: 15 % right of the other half
    assert edges == [(-45, -35), (-35, -15), (-15, 15), (15, 40), (40, 55)]
    colours = [c for *_, c in _segments(ax, 0)]
    assert len(set(colours)) == 5 and colours[0] == plots.OKABE_ITO["vermillion"].lower()
    assert colours[-1] == plots.OKABE_ITO["blue"].lower()
    assert [(round(a, 9), round(b, 9)) for a, b, _ in _segments(ax, 1)] == [(-20, -10), (-10, 10), (10, 50), (50, 80)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Prices are fair", "Delivery is fast"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the first item on top
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(AGREE.values())
    assert ax.get_xlabel() == "Share of answers (%)" and ax.get_title(loc="left") == "Agreement"


def test_diverging_likert_writes_percentages_on_both_sides_without_a_minus():
    fig = plots.diverging_likert(LIKERT, title="t", ylabel="Statement")
    labels = _tick_texts(fig, "x")
    assert "40 %" in labels and labels.count("20 %") == 2 and "0 %" in labels
    assert all(t.endswith(" %") and MINUS not in t and "-" not in t for t in labels)
    lo, hi = fig.axes[0].get_xlim()
    assert lo == -hi and hi >= 80  # symmetric around 0, room for the longest side


def test_diverging_likert_on_an_even_scale_has_no_neutral_and_takes_a_given_midpoint():
    even = pd.DataFrame({1: [10.0], 2: [30.0], 3: [40.0], 4: [20.0]}, index=["q"])
    edges = [
        (round(a, 9), round(b, 9))
        for a, b, _ in _segments(plots.diverging_likert(even, title="t", ylabel="Item").axes[0], 0)
    ]
    assert edges == [(-40, -30), (-30, 0), (0, 40), (40, 60)]
    given = plots.diverging_likert(even, title="t", ylabel="Item", neutral=2)
    assert [(round(a, 9), round(b, 9)) for a, b, _ in _segments(given.axes[0], 0)] == [
        (-25, -15),
        (-15, 15),
        (15, 55),
        (55, 75),
    ]
    with pytest.raises(ValueError, match="neutral = 9 is not one of the scale points"):
        plots.diverging_likert(even, title="t", ylabel="Item", neutral=9)
    with pytest.raises(ValueError, match="scale points as ints"):
        plots.diverging_likert(even.rename(columns=str), title="t", ylabel="Item")


@pytest.mark.parametrize("points", [5, 7])
def test_likert_colours_stay_apart_with_and_without_colour_blindness(points):
    """CIEDE2000 >= 10 between every two answer colours, as for the palette above."""
    table = pd.DataFrame([np.full(points, 100 / points)], columns=range(1, points + 1), index=["q"])
    fig = plots.diverging_likert(table, title="t", ylabel="Item")
    colours = [to_hex(h.get_facecolor()) for h in fig.axes[0].get_legend().legend_handles]
    assert len(set(colours)) == points
    for vision in CVD:
        assert _closest_pair(colours, vision) >= 10, vision


def test_quadrant_splits_at_the_means_and_names_the_corners():
    corners = {"top_left": "Possible overkill", "top_right": "Keep up", "bottom_left": "Low priority", "bottom_right": "Fix first"}  # fmt: skip
    fig = plots.quadrant(
        IPA, "importance", "performance", "driver", title="Importance and performance",
        xlabel="Importance (weight)", ylabel="Performance (share satisfied, %)", quadrant_labels=corners,
        xfmt="share", yfmt="share",
    )  # fmt: skip
    ax = fig.axes[0]
    splits = [ln for ln in ax.lines if ln.get_gid() == "quadrant-split"]
    assert len(splits) == 2 and all(ln.get_linestyle() == "--" for ln in splits)
    assert splits[0].get_xdata()[0] == pytest.approx(IPA["importance"].mean())
    assert splits[1].get_ydata()[0] == pytest.approx(IPA["performance"].mean())
    texts = {t.get_text(): t for t in ax.texts}
    assert set(IPA["driver"]) <= set(texts)  # every point is named
    fix = texts["Fix first"]
    assert fix.get_position() == (0.98, 0.02) and fix.get_transform() == ax.transAxes
    assert (fix.get_ha(), fix.get_va()) == ("right", "bottom")
    assert texts["Possible overkill"].get_position() == (0.02, 0.98)
    assert all(t.endswith(" %") for t in _tick_texts(fig, "x")) and all(t.endswith(" %") for t in _tick_texts(fig))
    price = IPA.set_index("driver").loc["price"]  # important and performing poorly: bottom right
    assert price["importance"] > splits[0].get_xdata()[0] and price["performance"] < splits[1].get_ydata()[0]


def test_quadrant_takes_given_splits_and_refuses_unknown_corners():
    fig = plots.quadrant(IPA, "importance", "performance", "driver", title="t", xlabel="x (w)", ylabel="y (%)",
                         x_split=0.15, y_split=0.5)  # fmt: skip
    splits = [ln for ln in fig.axes[0].lines if ln.get_gid() == "quadrant-split"]
    assert (splits[0].get_xdata()[0], splits[1].get_ydata()[0]) == (0.15, 0.5)
    assert not [t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("quadrant-")]  # no names given
    with pytest.raises(ValueError, match="unknown corner 'top'"):
        plots.quadrant(IPA, "importance", "performance", "driver", title="t", xlabel="x", ylabel="y",
                       quadrant_labels={"top": "Fix"})  # fmt: skip
    with pytest.raises(ValueError, match="no column 'weight'"):
        plots.quadrant(IPA, "weight", "performance", "driver", title="t", xlabel="x", ylabel="y")
    assert len(plt.get_fignums()) == 1  # the refused charts opened no figure


@pytest.mark.parametrize("chart", list(SURVEY_CHARTS))
@pytest.mark.parametrize("missing", list(LABELS))
@pytest.mark.parametrize("blank", ["", None])
def test_the_survey_charts_need_their_title_and_axis_labels(chart, missing, blank):
    with pytest.raises(ValueError, match=missing):
        SURVEY_CHARTS[chart](**{**LABELS, missing: blank})
    assert plt.get_fignums() == []


def test_the_survey_charts_fit_the_report_column_with_readable_text():
    long_items = LIKERT.rename(index={"Prices are fair": "Prices are fair for what you get"})
    for fig in (
        plots.diverging_likert(long_items, title="t", ylabel="Statement", labels=AGREE),
        plots.quadrant(IPA, "importance", "performance", "driver", title="t", xlabel="x (w)", ylabel="y (%)",
                       quadrant_labels={"bottom_right": "Fix first"}),
    ):  # fmt: skip
        assert isinstance(fig, Figure)
        assert _png_width(fig) <= 930
        assert _smallest_text_px(fig) >= plots.MIN_TEXT_PX
