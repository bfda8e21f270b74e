"""Charts for the channel report, in the same look as :mod:`helpers.reporting.plots` (which
re-exports them): contributions stacked over time, estimates with intervals, response curves with
the current spend marked, a cost-benefit scatter with the break-even line, and a funnel.

Every function takes a ``title`` and axis labels with units, and refuses to draw without them.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.reporting.chart_style import (
    _REFERENCE,
    FIGSIZE,
    FONT,
    MARKERS,
    PALETTE,
    _figure,
    _finish,
    _format_axis,
    _labels,
    _legend,
    _require,
)

__all__ = ["cost_benefit", "funnel_bars", "interval_dots", "response_curves", "stacked_area"]


def _columns(frame: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame has no column {missing[0]!r}; columns: {', '.join(map(str, frame.columns))}.")


def stacked_area(
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
    line: str | None = None,
    line_label: str = "actual",
) -> Figure:
    """Positive parts stacked upwards from zero and negative parts downwards, one colour each, against
    ``x`` (dates); ``line``: a column drawn on top as a black line (e.g. the actual KPI)."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    ys = list(ys)
    _columns(frame, [x, *ys] + ([line] if line else []))
    names = _labels(ys, labels)
    _fig, ax = _figure()
    xs = frame[x]
    pos_base = np.zeros(len(frame))
    neg_base = np.zeros(len(frame))
    for i, (y, name) in enumerate(zip(ys, names)):
        v = frame[y].astype(float).to_numpy()
        up, down = np.clip(v, 0, None), np.clip(v, None, 0)
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(xs, pos_base, pos_base + up, color=colour, alpha=0.85, lw=0, label=name)
        if (down < 0).any():
            ax.fill_between(xs, neg_base, neg_base + down, color=colour, alpha=0.85, lw=0)
        pos_base, neg_base = pos_base + up, neg_base + down
    if line:
        ax.plot(xs, frame[line], color="black", lw=1.3, label=line_label)
    if pd.api.types.is_datetime64_any_dtype(xs):
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _format_axis(ax.yaxis, yfmt, currency)
    _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def interval_dots(
    frame: pd.DataFrame,
    label: str,
    estimate: str,
    low: str,
    high: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    reference: float | None = None,
    reference_label: str = "",
    xfmt: str | None = None,
    currency: str | None = None,
) -> Figure:
    """One row per ``label``: the estimate as a dot and its interval as a bar (a forest plot);
    ``reference``: a dashed vertical line (e.g. break-even ROAS 1)."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    _columns(frame, [label, estimate, low, high])
    data = frame.reset_index(drop=True)
    _fig, ax = _figure((FIGSIZE[0], max(3.0, 0.5 * len(data) + 1.6)))
    pos = np.arange(len(data))
    est = data[estimate].astype(float).to_numpy()
    lo, hi = data[low].astype(float).to_numpy(), data[high].astype(float).to_numpy()
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.hlines(pos[ok], lo[ok], hi[ok], color=PALETTE[0], lw=3, alpha=0.6, label="90 % interval")
    ax.plot(est, pos, "o", color=PALETTE[0], ms=7, label="estimate", zorder=3)
    if reference is not None:
        ax.axvline(reference, color=_REFERENCE, ls="--", lw=1.2, label=reference_label or None)
    ax.set_yticks(pos)
    ax.set_yticklabels(data[label].astype(str))
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    _format_axis(ax.xaxis, xfmt, currency)
    _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def response_curves(
    curves: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    channel: str = "channel",
    spend: str = "spend",
    response: str = "response",
    low: str | None = "response_low",
    high: str | None = "response_high",
    current: str = "is_current",
    optimal: pd.Series | None = None,
    xfmt: str | None = "money",
    yfmt: str | None = None,
    currency: str | None = None,
) -> Figure:
    """Response against spend, one line (and band) per channel, the current spend marked with a
    dot and, when ``optimal`` (spend by channel) is given, the recommended spend with a cross."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    _columns(curves, [channel, spend, response, current])
    _fig, ax = _figure()
    for i, (name, c) in enumerate(curves.groupby(channel, sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        c = c.sort_values(spend)
        ax.plot(c[spend], c[response], color=colour, lw=2, label=str(name))
        if low and high and low in c and high in c and c[low].notna().any():
            ax.fill_between(c[spend], c[low], c[high], color=colour, alpha=0.15, lw=0)
        now = c[c[current].astype(bool)]
        ax.plot(now[spend], now[response], MARKERS[0], color=colour, ms=8, mec="white", zorder=4)
        if optimal is not None and name in optimal.index:
            x_opt = float(optimal[name])
            y_opt = float(np.interp(x_opt, c[spend].to_numpy(float), c[response].to_numpy(float)))
            ax.plot([x_opt], [y_opt], "X", color=colour, ms=9, mec="black", mew=0.6, zorder=5)
    ax.plot([], [], MARKERS[0], color="grey", label="current spend")
    if optimal is not None:
        ax.plot([], [], "X", color="grey", mec="black", label="recommended spend")
    _format_axis(ax.xaxis, xfmt, currency)
    _format_axis(ax.yaxis, yfmt, currency)
    _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def cost_benefit(
    frame: pd.DataFrame,
    cost: str,
    value: str,
    label: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    size: str | None = None,
    currency: str | None = None,
) -> Figure:
    """Value per customer against cost per customer, one named point per channel (area by ``size``),
    with the break-even line value = cost: channels above it return more than they cost."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    _columns(frame, [cost, value, label] + ([size] if size else []))
    data = frame.dropna(subset=[cost, value])
    if data.empty:
        raise ValueError(f"no channel has both {cost!r} and {value!r}: there is nothing to draw.")
    xs, ys = data[cost].astype(float).to_numpy(), data[value].astype(float).to_numpy()
    if size:
        s = data[size].astype(float).to_numpy()
        area = 60 + 600 * s / max(s.max(), 1e-12)
    else:
        area = np.full(len(data), 80.0)
    _fig, ax = _figure()
    ax.scatter(xs, ys, s=area, color=PALETTE[0], alpha=0.7, edgecolor="white", zorder=4)
    for xv, yv, name in zip(xs, ys, data[label]):
        ax.annotate(str(name), (xv, yv), xytext=(7, 5), textcoords="offset points", fontsize=FONT["note"],
                    parse_math=False, zorder=5)  # fmt: skip
    top = max(xs.max(), ys.max()) * 1.15 or 1.0
    ax.plot([0, top], [0, top], color=_REFERENCE, ls="--", lw=1.2, label="break-even: value = cost")
    ax.set_xlim(0, xs.max() * 1.25 or 1.0)
    ax.set_ylim(min(0.0, ys.min() * 1.2), ys.max() * 1.2 or 1.0)
    _format_axis(ax.xaxis, "money", currency)
    _format_axis(ax.yaxis, "money", currency)
    _legend(ax)
    return _finish(ax, title, xlabel, ylabel)


def funnel_bars(
    frame: pd.DataFrame,
    stage: str,
    count: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    share: str | None = None,
) -> Figure:
    """Horizontal bars, first stage at the top, each labelled with its count and (``share``, a
    fraction 0-1) its conversion from the stage before."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    _columns(frame, [stage, count] + ([share] if share else []))
    _fig, ax = _figure((FIGSIZE[0], max(3.0, 0.6 * len(frame) + 1.5)))
    pos = np.arange(len(frame))
    counts = frame[count].astype(float).to_numpy()
    ax.barh(pos, counts, color=PALETTE[0], height=0.7)
    for i, n in enumerate(counts):
        text = f"{n:,.0f}"
        if share and i > 0 and pd.notna(frame[share].iloc[i]):
            text += f"  ({100 * float(frame[share].iloc[i]):.0f} % of the stage before)"
        ax.text(n, i, "  " + text, va="center", ha="left", fontsize=FONT["note"], parse_math=False)
    ax.set_yticks(pos)
    ax.set_yticklabels(frame[stage].astype(str))
    ax.invert_yaxis()
    ax.set_xlim(0, counts.max() * 1.45 if len(counts) else 1.0)
    ax.grid(axis="y", visible=False)
    _format_axis(ax.xaxis, "count", None)
    return _finish(ax, title, xlabel, ylabel)
