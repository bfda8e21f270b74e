"""One look for every chart in every report.

Every chart function takes a ``title`` and axis labels with units (a heat map also its colour-bar
label), and refuses to draw without them, because a chart in a report is read by people who did
not write it. Figures are returned so a notebook can adjust them.

Conventions:

- colours: :data:`PALETTE` (Okabe-Ito, colour-blind safe) for categories, :data:`SEQUENTIAL_CMAP`
  for heat maps; several lines also differ by line style and marker, so they can be told apart
  in grey print or without colour vision;
- sizes: charts are made for a report column about 930 px wide: :data:`FIGSIZE` inches at
  :data:`DPI` dots per inch (880 x 495 px), no text smaller than :data:`MIN_TEXT_PX` on screen;
- numbers on a value axis: ``xfmt``/``yfmt`` = ``"count"`` (``12,345``), ``"share"`` (a fraction
  0-1 shown in percent, ``26 %``), ``"percent"`` (already 0-100, ``26 %``), ``"money"``
  (``$12,345``, ``12,345 USD``, ``$2.5M``), or None (matplotlib's default); the same rules as
  the report's cards and tables (:mod:`helpers.core.formats`: ``%`` after a space, a real minus);
- answer scales (:func:`diverging_likert`): Okabe-Ito vermillion for the negative end, blue for
  the positive end, lighter towards the middle, a neutral grey for the midpoint;
- time-split charts (calibration / holdout) mark the split: ``line(..., split_at=...)`` or
  :func:`mark_split` on any axes.

Titles, labels and legends often carry data (a column name, a channel): they are drawn as
plain text (``text.parse_math`` off), so a ``$`` in a name neither turns into mathematics nor
stops the chart; charts are images, so no text in them reaches the report's HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import transforms
from matplotlib.colors import LinearSegmentedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from helpers.core.formats import MINUS
from helpers.reporting.chart_style import (  # noqa: F401  (re-exported: the style is part of this API)
    _REFERENCE,
    _SHADE,
    _SHADE_ALPHA,
    DPI,
    FIGSIZE,
    FONT,
    FORMATS,
    LINESTYLES,
    MARKERS,
    MAX_WIDTH_IN,
    MIN_TEXT_PX,
    OKABE_ITO,
    PALETTE,
    SEQUENTIAL_CMAP,
    _figure,
    _finish,
    _format_axis,
    _is_date,
    _labels,
    _legend,
    _require,
    axis_formatter,
    format_tick,
    use_theme,
)
from helpers.reporting.mix_plots import cost_benefit, funnel_bars, interval_dots, response_curves, stacked_area

__all__ = [
    "DPI",
    "FIGSIZE",
    "FORMATS",
    "LINESTYLES",
    "MARKERS",
    "OKABE_ITO",
    "PALETTE",
    "SEQUENTIAL_CMAP",
    "axis_formatter",
    "bar",
    "cost_benefit",
    "diverging_likert",
    "format_tick",
    "funnel_bars",
    "grouped_bar",
    "heatmap",
    "histogram",
    "interval_dots",
    "line",
    "mark_split",
    "quadrant",
    "response_curves",
    "roc",
    "stacked_area",
    "use_theme",
]


def bar(
    values: pd.Series,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    color: str | None = None,
    xfmt: str | None = None,
    yfmt: str | None = None,
    currency: str | None = None,
) -> Figure:
    """Bar chart of a labelled Series (index = categories, values = bar lengths).

    The value axis is y (x when ``horizontal``); give its number format as ``yfmt`` (``xfmt``)
    and, for money, ``currency``. A format on the category axis is refused.
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    if (xfmt if not horizontal else yfmt) is not None:
        raise ValueError("The category axis has no number format: give it for the value axis (y, or x if horizontal).")
    _fig, ax = _figure()
    color = color or PALETTE[0]
    if horizontal:
        ax.barh(values.index.astype(str), values.values, color=color)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        _format_axis(ax.xaxis, xfmt, currency)
    else:
        ax.bar(values.index.astype(str), values.values, color=color)
        ax.grid(axis="x", visible=False)
        if len(values) > 8:
            ax.tick_params(axis="x", rotation=45)
        _format_axis(ax.yaxis, yfmt, currency)
    return _finish(ax, title, xlabel, ylabel)


def histogram(
    bins: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str = "Rows (count)",
    xfmt: str | None = None,
    yfmt: str | None = "count",
    currency: str | None = None,
) -> Figure:
    """Histogram from a table of ``left``, ``right``, ``rows`` (as ``helpers.quality.profiling.histogram``
    returns): bin edges on x (in the column's units, ``xfmt``), rows per bin on y (``yfmt``,
    counts with thousands separators by default)."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    _fig, ax = _figure()
    ax.bar(
        bins["left"],
        bins["rows"],
        width=(bins["right"] - bins["left"]),
        align="edge",
        color=PALETTE[0],
        edgecolor="white",
    )
    ax.grid(axis="x", visible=False)
    _format_axis(ax.xaxis, xfmt, currency)
    _format_axis(ax.yaxis, yfmt, currency)
    return _finish(ax, title, xlabel, ylabel)


def _split_position(ax, split_at, dates: bool) -> float:
    """``split_at`` in the x axis's own numbers (matplotlib date numbers on a date axis)."""
    if dates:
        if isinstance(split_at, (bool, int, float, np.number)):
            raise ValueError("split_at must be a date (Timestamp, date or ISO string) on a date axis.")
        try:
            stamp = pd.Timestamp(split_at)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"split_at {split_at!r} is not a date.") from exc
        if stamp is pd.NaT:
            raise ValueError("split_at is missing (NaT).")
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return float(mdates.date2num(stamp.to_datetime64()))
    if isinstance(split_at, bool) or not isinstance(split_at, (int, float, np.number)) or not math.isfinite(split_at):
        raise ValueError("split_at must be a number on a numeric axis (a date only on a date axis).")
    return float(split_at)


def mark_split(
    ax,
    split_at,
    *,
    label: str = "calibration ends",
    labels: Sequence[str] = ("calibration period", "holdout period"),
    dates: bool | None = None,
    headroom: float = 0.18,
) -> None:
    """Mark a time split on ``ax``: a dashed vertical line at x = ``split_at`` labelled ``label``
    at the top, the region after it lightly shaded (legend entry ``labels[1]``), and
    ``"← labels[0]"`` / ``"labels[1] →"`` written either side of the line at the top.

    ``split_at``: a date (Timestamp, ``datetime.date``, ISO string) on a date axis, a number
    otherwise; it is the first instant of the second period (for a last calibration *day* D,
    D + 1 day is exact; one day does not show on a chart of months). Call after the data is
    drawn: the top ``headroom`` (share of the y range) is added above the data for the labels,
    so they never cover it. ``dates``: None = from the axis (date units or not).
    """
    if len(labels) != 2:
        raise ValueError("labels names the two sides of the split: (before, after).")
    if dates is None:
        date_formatters = (mdates.AutoDateFormatter, mdates.ConciseDateFormatter, mdates.DateFormatter)
        dates = isinstance(ax.xaxis.get_major_formatter(), date_formatters)
    x = _split_position(ax, split_at, dates)
    x0, x1 = ax.get_xlim()
    left, right = min(x0, x), max(x1, x)
    y0, y1 = ax.get_ylim()
    ax.set_ylim(y0, y1 + headroom * (y1 - y0))
    ax.axvspan(x, right, color=_SHADE, alpha=_SHADE_ALPHA, lw=0, zorder=0, label=str(labels[1]), gid="split-shade")
    ax.axvline(x, color=_REFERENCE, ls="--", lw=1.4, zorder=3, label=str(label), gid="split-line")
    ax.set_xlim(left, right)
    top = ax.get_xaxis_transform()  # x in data, y in axes fractions
    fig = ax.figure
    ax.text(
        x, 0.985, str(label), transform=top, ha="center", va="top", fontsize=FONT["note"], color=_REFERENCE,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5}, parse_math=False, zorder=4,
    )  # fmt: skip
    for side, text, ha in ((-1, f"← {labels[0]}", "right"), (1, f"{labels[1]} →", "left")):
        ax.text(
            x, 0.89, text, ha=ha, va="top", fontsize=FONT["note"], color=_REFERENCE, parse_math=False, zorder=4,
            transform=transforms.offset_copy(top, fig=fig, x=5 * side, units="points"),
        )  # fmt: skip


def line(
    frame: pd.DataFrame,
    x: str,
    ys: Sequence[str] | str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    labels: Sequence[str] | None = None,
    xfmt: str | None = None,
    yfmt: str | None = None,
    currency: str | None = None,
    split_at=None,
    split_label: str = "calibration ends",
    split_labels: Sequence[str] = ("calibration period", "holdout period"),
) -> Figure:
    """One or more lines against ``x`` (dates or numbers).

    Several series differ by colour, line style and marker; their legend sits outside the plot.
    ``xfmt``/``yfmt``: number formats of the axes (a date x axis is always written as dates).
    ``split_at``: where calibration ends and the holdout begins (see :func:`mark_split`), named
    ``split_label`` on the line and ``split_labels`` (before, after) either side.
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    ys = [ys] if isinstance(ys, str) else list(ys)
    names = _labels(ys, labels)
    dates = _is_date(frame[x])
    if dates and xfmt is not None:
        raise ValueError("xfmt is for a numeric x axis; a date axis is written as dates.")
    _fig, ax = _figure()
    n = len(frame)
    for i, (y, name) in enumerate(zip(ys, names)):
        if len(ys) == 1:
            style = {"color": PALETTE[0], "ls": "-", "marker": "o" if n < 40 else None}
        else:
            step = max(1, n // 12)  # about a dozen markers a line, staggered between lines
            style = {
                "color": PALETTE[i % len(PALETTE)],
                "ls": LINESTYLES[i % len(LINESTYLES)],
                "marker": MARKERS[i % len(MARKERS)],
                "markevery": (int(i * step / len(ys)) % step, step),
            }
        ax.plot(frame[x], frame[y], ms=4, lw=2.0, label=name, **style)
    if dates:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _format_axis(ax.xaxis, xfmt, currency)
    _format_axis(ax.yaxis, yfmt, currency)
    if split_at is not None:
        mark_split(ax, split_at, label=split_label, labels=split_labels, dates=dates)
    if len(ys) > 1 or split_at is not None:
        _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def _annotation(value, fmt: str) -> str:
    text = format(value, fmt).replace("%", " %")
    return MINUS + text[1:] if text.startswith("-") else text


def heatmap(
    frame: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str = ".0%",
    cmap: str = SEQUENTIAL_CMAP,
    colorbar_label: str | None = None,
    vmax: float | None = None,
    vmin: float | None = None,
    colorbar_fmt: str | None = None,
    currency: str | None = None,
    annotate: bool | None = None,
) -> Figure:
    """Annotated heat map of a small matrix (e.g. cohort retention).

    ``colorbar_label`` (required): what the colour means, with its unit. ``fmt``: the cells'
    format (Python format spec, ``.0%`` = a fraction as a whole percentage); ``colorbar_fmt``:
    the colour bar's number format (None: ``"share"`` when ``fmt`` is a percentage, else
    matplotlib's default). ``vmax``/``vmin`` cap the colour scale so that one large column
    (month 0 = 100 %) does not wash out the rest. ``annotate``: None = write the values when the
    cells are big enough to read them.
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel, colorbar_label=colorbar_label)
    rows, cols = frame.shape
    # row labels longer than a cohort month ("2024-01") take width from the cells: allow for them
    label_in = max(0.0, 0.075 * max((len(str(i)) for i in frame.index), default=0) - 0.6)
    col_chars = max((len(str(c)) for c in frame.columns), default=0)
    cell_min = max(0.45, 0.075 * col_chars + 0.1) if col_chars > 5 else 0.45  # room for the column labels
    width = min(MAX_WIDTH_IN, max(6.0, cell_min * cols + 2.5 + label_in))
    # column labels too long for their cells are turned upright: leave room below for them
    turned_in = 0.075 * col_chars if cell_min * cols + 2.5 + label_in > MAX_WIDTH_IN else 0.0
    height = min(9.0 + turned_in, max(3.5, 0.35 * rows + 1.5) + turned_in)
    cell_w, cell_h = (width - 2.6 - label_in) / max(cols, 1), (height - 1.3 - turned_in) / max(rows, 1)  # inches
    if annotate is None:
        annotate = cell_w >= 0.28 and cell_h >= 0.18
    annot_size = FONT["annot"] if cell_w >= 0.4 else FONT["annot_small"]
    if colorbar_fmt is None and fmt.endswith("%"):
        colorbar_fmt = "share"
    if annotate:  # the reports' conventions: "26 %" (a space before %), a real minus sign
        annotate = frame.map(lambda v: "" if pd.isna(v) else _annotation(v, fmt)).to_numpy()
    _fig, ax = _figure((width, height))
    sns.heatmap(
        frame,
        annot=annotate,
        fmt="",
        cmap=cmap,
        ax=ax,
        vmax=vmax,
        vmin=vmin,
        cbar_kws={"label": colorbar_label},
        annot_kws={"size": annot_size},
    )
    cbar = ax.collections[0].colorbar
    cbar.ax.yaxis.label.set_fontsize(FONT["label"])
    cbar.ax.tick_params(labelsize=FONT["tick"])
    _format_axis(cbar.ax.yaxis, colorbar_fmt, currency, locate=False)
    return _finish(ax, title, xlabel, ylabel)


def grouped_bar(
    frame: pd.DataFrame,
    x: str,
    ys: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    labels: Sequence[str] | None = None,
    yfmt: str | None = None,
    currency: str | None = None,
    horizontal: bool = False,
) -> Figure:
    """Side-by-side bars of several columns per category of ``x`` (e.g. actual vs predicted);
    ``yfmt``: the number format of the value axis. Legend outside the plot. ``horizontal``:
    categories down the y axis (first at the top), for long category names; ``xlabel`` then
    names the value axis and ``ylabel`` the categories."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    ys = list(ys)
    names = _labels(ys, labels)
    n = len(ys)
    width = 0.8 / n
    pos = range(len(frame))
    _fig, ax = _figure((FIGSIZE[0], max(FIGSIZE[1], 0.45 * len(frame) + 1.5)) if horizontal else FIGSIZE)
    draw = ax.barh if horizontal else ax.bar
    for i, (y, name) in enumerate(zip(ys, names)):
        offsets = [p + (i - (n - 1) / 2) * width for p in pos]
        style = dict(label=name, color=PALETTE[i % len(PALETTE)], edgecolor="white", linewidth=0.5)
        if horizontal:
            draw(offsets, frame[y], height=width, **style)
        else:
            draw(offsets, frame[y], width=width, **style)
    if horizontal:
        ax.set_yticks(list(pos))
        ax.set_yticklabels(frame[x].astype(str))
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        _format_axis(ax.xaxis, yfmt, currency)
    else:
        ax.set_xticks(list(pos))
        ax.set_xticklabels(frame[x].astype(str))
        ax.grid(axis="x", visible=False)
        _format_axis(ax.yaxis, yfmt, currency)
    _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def roc(curves: dict, aucs: dict, *, title: str) -> Figure:
    """ROC curves, one per scorer (colour, line style and AUC in the legend), against chance.

    ``curves``: name -> ``{"false_positive_rate": [...], "true_positive_rate": [...]}`` (0-1);
    ``aucs``: name -> area under the curve (0-1). The legend sits at the lower right, below the
    chance diagonal, where a useful scorer draws nothing.
    """
    _require(title=title)
    _fig, ax = _figure((5.8, 5.2))
    for i, (name, c) in enumerate(curves.items()):
        ax.plot(
            c["false_positive_rate"],
            c["true_positive_rate"],
            label=f"{name} (AUC {aucs[name]:.2f})",
            color=PALETTE[i % len(PALETTE)],
            ls=LINESTYLES[i % len(LINESTYLES)],
            lw=2.0,
        )
    ax.plot([0, 1], [0, 1], ls=":", color=_REFERENCE, lw=1.2, label="chance (AUC 0.50)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    _legend(ax, outside=False, loc="lower right")
    return _finish(
        ax, title, "False positive rate (share of buyers flagged)", "True positive rate (share of lapsers caught)"
    )


#: Diverging answer scales: the negative end in Okabe-Ito vermillion, the positive end in
#: Okabe-Ito blue (apart for every common colour-vision deficiency), each lighter towards the
#: middle; the midpoint is a mid grey. On 5- and 7-point scales every two colours stay at least
#: 10 CIEDE2000 apart for normal vision, protanopia, deuteranopia and tritanopia.
_LIKERT_ENDS = (OKABE_ITO["vermillion"], OKABE_ITO["blue"])
_LIKERT_NEUTRAL = "#B0B0B0"


def _likert_colours(below: int, above: int) -> tuple[list[str], list[str]]:
    """Colours of the points below the midpoint (most negative first) and above it (nearest the
    middle first)."""
    cmap = LinearSegmentedColormap.from_list("likert", [_LIKERT_ENDS[0], "#FFFFFF", _LIKERT_ENDS[1]])

    def side(k: int, end: float, inner: float) -> list[str]:  # from the end inwards; one point: the end
        positions = np.linspace(end, inner, k) if k > 1 else np.array([end] * k)
        return [to_hex(cmap(float(v))) for v in positions]  # floats: an int would index the colour table

    return side(below, 0.0, 0.38), side(above, 1.0, 0.62)[::-1]


def diverging_likert(
    distribution: pd.DataFrame,
    *,
    title: str,
    xlabel: str = "Share of answers (%)",
    ylabel: str,
    neutral: int | None = None,
    labels: Mapping[int, str] | None = None,
) -> Figure:
    """Diverging stacked bars of answers on an agreement/rating scale, one bar per item.

    ``distribution``: rows = items (drawn top to bottom in the given order), columns = the scale
    points as ints with the percentage of answers (0-100, as
    :func:`helpers.survey.scores.likert_distribution` returns; its ``n`` column is ignored).
    Points below the midpoint extend left of 0, points above it right; the midpoint (``neutral``;
    None = the middle point of a scale with an odd number of points, none on an even scale) is
    split half left, half right. The x axis is in percent of answers on both sides (no minus
    sign); ``labels`` name the points in the legend (default: the numbers).
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    table = distribution.drop(columns=["n"], errors="ignore")
    if table.empty or table.shape[1] < 2:
        raise ValueError("distribution needs at least one item (row) and two scale points (columns).")
    if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in table.columns):
        bad = [c for c in table.columns if not isinstance(c, (int, np.integer)) or isinstance(c, bool)]
        raise ValueError(f"distribution's columns must be the scale points as ints (besides 'n'); got {bad!r}.")
    points = sorted(int(c) for c in table.columns)
    if neutral is None and len(points) % 2 == 1:
        neutral = points[len(points) // 2]
    if neutral is not None and neutral not in points:
        raise ValueError(f"neutral = {neutral!r} is not one of the scale points {points}.")
    labels = dict(labels or {})
    shares = table[points].astype(float).fillna(0.0).to_numpy()
    mid = len(points) / 2 if neutral is None else points.index(neutral)
    below = [i for i, _ in enumerate(points) if i < mid]
    above = [i for i, _ in enumerate(points) if i > mid or (neutral is None and i >= mid)]
    neg_colours, pos_colours = _likert_colours(len(below), len(above))
    colours = dict(zip(below, neg_colours)) | dict(zip(above, pos_colours))
    half = shares[:, points.index(neutral)] / 2 if neutral is not None else np.zeros(len(table))

    rows = np.arange(len(table))
    _fig, ax = _figure((FIGSIZE[0], max(FIGSIZE[1], 0.5 * len(table) + 1.8)))
    style = {"height": 0.7, "edgecolor": "white", "linewidth": 0.6}
    if neutral is not None:
        ax.barh(rows, 2 * half, left=-half, color=_LIKERT_NEUTRAL, **style)
    edge = -half
    for i in reversed(below):  # outwards from the middle
        ax.barh(rows, shares[:, i], left=edge - shares[:, i], color=colours[i], **style)
        edge = edge - shares[:, i]
    left_extent = -edge
    edge = half.copy()
    for i in above:
        ax.barh(rows, shares[:, i], left=edge, color=colours[i], **style)
        edge = edge + shares[:, i]
    reach = float(max(left_extent.max(), edge.max(), 1.0))
    step = next(s for s in (5, 10, 20, 25, 50) if reach / s <= 4)
    limit = step * math.ceil(reach / step)
    ax.set_xlim(-limit, limit)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_tick(abs(v), "percent", span=2 * limit)))
    ax.axvline(0, color=_REFERENCE, lw=1.0, zorder=3)
    ax.set_yticks(rows)
    ax.set_yticklabels([str(i) for i in table.index])
    ax.set_ylim(len(table) - 0.5, -0.5)  # first item at the top
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(facecolor=_LIKERT_NEUTRAL if p == neutral else colours[i], label=str(labels.get(p, p)))
        for i, p in enumerate(points)
    ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False,
        fontsize=FONT["legend"], title="Answer",
    )  # fmt: skip
    return _finish(ax, title, xlabel, ylabel)


QUADRANTS = ("top_left", "top_right", "bottom_left", "bottom_right")


def quadrant(
    frame: pd.DataFrame,
    x: str,
    y: str,
    label: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    x_split: float | None = None,
    y_split: float | None = None,
    quadrant_labels: Mapping[str, str] | None = None,
    xfmt: str | None = None,
    yfmt: str | None = None,
) -> Figure:
    """Scatter of ``y`` against ``x`` with each point named by ``label``, split into four
    quadrants by dashed lines at ``x_split`` and ``y_split`` (default: the means of x and y).

    ``quadrant_labels`` names the quadrants in their corners; keys ``top_left``, ``top_right``,
    ``bottom_left``, ``bottom_right``. For an importance-performance matrix: x = importance,
    y = performance, and ``bottom_right`` (important, performing poorly) is "Fix first".
    ``xfmt``/``yfmt``: the axes' number formats. Rows without x or y are left out.
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    for c in (x, y, label):
        if c not in frame.columns:
            raise ValueError(f"the frame has no column {c!r}.")
    names = dict(quadrant_labels or {})
    unknown = [k for k in names if k not in QUADRANTS]
    if unknown:
        raise ValueError(f"quadrant_labels: unknown corner {unknown[0]!r}; use {', '.join(QUADRANTS)}.")
    data = frame[[x, y, label]].dropna(subset=[x, y])
    if data.empty:
        raise ValueError(f"no row has both {x!r} and {y!r}: there is nothing to draw.")
    xs, ys = data[x].astype(float).to_numpy(), data[y].astype(float).to_numpy()
    x_split = float(xs.mean()) if x_split is None else float(x_split)
    y_split = float(ys.mean()) if y_split is None else float(y_split)

    _fig, ax = _figure()
    ax.scatter(xs, ys, s=40, color=PALETTE[0], zorder=4)
    for xv, yv, name in zip(xs, ys, data[label]):
        ax.annotate(
            str(name), (xv, yv), xytext=(5, 4), textcoords="offset points", fontsize=FONT["note"],
            parse_math=False, zorder=5,
        )  # fmt: skip
    # room around the points (and the splits) for the point names and the corner names
    x_lo, x_hi = min(xs.min(), x_split), max(xs.max(), x_split)
    y_lo, y_hi = min(ys.min(), y_split), max(ys.max(), y_split)
    dx, dy = (x_hi - x_lo) or abs(x_hi) or 1.0, (y_hi - y_lo) or abs(y_hi) or 1.0
    ax.set_xlim(x_lo - 0.08 * dx, x_hi + 0.15 * dx)
    ax.set_ylim(y_lo - 0.15 * dy, y_hi + 0.15 * dy)
    ax.axvline(x_split, color=_REFERENCE, ls="--", lw=1.2, zorder=2, gid="quadrant-split")
    ax.axhline(y_split, color=_REFERENCE, ls="--", lw=1.2, zorder=2, gid="quadrant-split")
    corners = {
        "top_left": (0.02, 0.98, "left", "top"),
        "top_right": (0.98, 0.98, "right", "top"),
        "bottom_left": (0.02, 0.02, "left", "bottom"),
        "bottom_right": (0.98, 0.02, "right", "bottom"),
    }
    for key, text in names.items():
        cx, cy, ha, va = corners[key]
        ax.text(
            cx, cy, str(text), transform=ax.transAxes, ha=ha, va=va, fontsize=FONT["note"], fontweight="bold",
            color=_REFERENCE, parse_math=False, zorder=6, gid=f"quadrant-{key}",
        )  # fmt: skip
    _format_axis(ax.xaxis, xfmt, None)
    _format_axis(ax.yaxis, yfmt, None)
    return _finish(ax, title, xlabel, ylabel)
