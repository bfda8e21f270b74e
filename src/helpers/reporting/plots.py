"""One look for every chart in every report.

Every chart function takes a ``title`` and axis labels with units, because a chart in a report
is read by people who did not write it. Figures are returned so a notebook can adjust them.

Titles, labels and legends often carry data (a column name, a channel): they are drawn as
plain text (``text.parse_math`` off), so a ``$`` in a name neither turns into mathematics nor
stops the chart; charts are images, so no text in them reaches the report's HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = ["#1f5f8b", "#e07b39", "#3a9d5d", "#c2404d", "#7d5ba6", "#8c6d46", "#d477b0", "#6f7378"]
FIGSIZE = (8.0, 4.2)


def use_theme() -> None:
    """Apply the workbench theme (call once at the top of a notebook)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": 110,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "savefig.bbox": "tight",
            "text.parse_math": False,
        }
    )


def _finish(ax, title: str, xlabel: str, ylabel: str):
    if not title or not xlabel or not ylabel:
        raise ValueError("Every chart needs a title and both axis labels (with units).")
    ax.set_title(title, loc="left", parse_math=False)
    ax.set_xlabel(xlabel, parse_math=False)
    ax.set_ylabel(ylabel, parse_math=False)
    ax.figure.tight_layout()
    return ax.figure


def bar(values: pd.Series, *, title: str, xlabel: str, ylabel: str, horizontal: bool = False, color: str | None = None):
    """Bar chart of a labelled Series (index = categories)."""
    _fig, ax = plt.subplots()
    color = color or PALETTE[0]
    if horizontal:
        ax.barh(values.index.astype(str), values.values, color=color)
        ax.invert_yaxis()
    else:
        ax.bar(values.index.astype(str), values.values, color=color)
        if len(values) > 8:
            ax.tick_params(axis="x", rotation=45)
    return _finish(ax, title, xlabel, ylabel)


def histogram(bins: pd.DataFrame, *, title: str, xlabel: str, ylabel: str = "Rows (count)"):
    """Histogram from a table of ``left``, ``right``, ``rows`` (as ``helpers.quality.profiling.histogram`` returns)."""
    _fig, ax = plt.subplots()
    ax.bar(
        bins["left"],
        bins["rows"],
        width=(bins["right"] - bins["left"]),
        align="edge",
        color=PALETTE[0],
        edgecolor="white",
    )
    return _finish(ax, title, xlabel, ylabel)


def line(
    frame: pd.DataFrame,
    x: str,
    ys: Sequence[str] | str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    labels: Sequence[str] | None = None,
):
    """One or more lines against ``x``."""
    _fig, ax = plt.subplots()
    ys = [ys] if isinstance(ys, str) else list(ys)
    for i, y in enumerate(ys):
        ax.plot(frame[x], frame[y], marker="o" if len(frame) < 40 else None, ms=3, label=(labels or ys)[i])
    if len(ys) > 1:
        ax.legend(frameon=False)
    return _finish(ax, title, xlabel, ylabel)


def heatmap(
    frame: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str = ".0%",
    cmap: str = "Blues",
    colorbar_label: str = "",
    vmax: float | None = None,
):
    """Annotated heat map of a small matrix (e.g. cohort retention); ``vmax`` caps the colour
    scale so that one large column (month 0 = 100 %) does not wash out the rest."""
    _fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * frame.shape[1] + 2), max(3.5, 0.35 * frame.shape[0] + 1.5)))
    sns.heatmap(
        frame,
        annot=frame.shape[1] <= 20,
        fmt=fmt,
        cmap=cmap,
        ax=ax,
        vmax=vmax,
        cbar_kws={"label": colorbar_label},
        annot_kws={"size": 7},
    )
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
):
    """Side-by-side bars of several columns per category (e.g. actual vs predicted)."""
    _fig, ax = plt.subplots()
    n = len(ys)
    width = 0.8 / n
    pos = range(len(frame))
    for i, y in enumerate(ys):
        ax.bar(
            [p + (i - (n - 1) / 2) * width for p in pos],
            frame[y],
            width=width,
            label=(labels or ys)[i],
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks(list(pos))
    ax.set_xticklabels(frame[x].astype(str))
    ax.legend(frameon=False)
    return _finish(ax, title, xlabel, ylabel)


def roc(curves: dict, aucs: dict, *, title: str):
    """ROC curves (false vs true positive rate), one per scorer, with AUC in the legend."""
    _fig, ax = plt.subplots(figsize=(5.5, 5.0))
    for i, (name, c) in enumerate(curves.items()):
        ax.plot(
            c["false_positive_rate"], c["true_positive_rate"], label=f"{name} (AUC {aucs[name]:.2f})", color=PALETTE[i]
        )
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance (AUC 0.50)")
    ax.legend(frameon=False, loc="lower right")
    return _finish(
        ax, title, "False positive rate (share of buyers flagged)", "True positive rate (share of lapsers caught)"
    )
