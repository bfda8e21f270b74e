"""The charts' shared style: colour-blind-safe colours, sizes, the theme, number formats on
axes and the small helpers every chart function in :mod:`helpers.reporting.plots` uses.

- colours: :data:`PALETTE` (Okabe-Ito) for categories, :data:`SEQUENTIAL_CMAP` for heat maps;
  several lines also differ by line style and marker (:data:`LINESTYLES`, :data:`MARKERS`);
- sizes: :data:`FIGSIZE` inches at :data:`DPI` for a report column about 930 px wide, no text
  smaller than :data:`MIN_TEXT_PX` on screen;
- value axes: :func:`format_tick` / :func:`axis_formatter` for ``"count"``, ``"share"``,
  ``"percent"`` and ``"money"`` (the rules of :mod:`helpers.core.formats`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from helpers.core.formats import MINUS, PREFIX_CURRENCIES
from helpers.reporting import metrics

# --- colours ---------------------------------------------------------------------------------

#: The Okabe-Ito palette: M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures
#: and presentations that are friendly to colorblind people" (2002/2008),
#: https://jfly.uni-koeln.de/color/ ; also Wong, "Points of view: Color blindness", Nature
#: Methods 8, 441 (2011).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: Category colours, in the order series get them: Okabe-Ito reordered so that the first two
#: (often "actual" and "model") differ most, without the yellow (too light to read on white; it
#: is also the colour deuteranopes confuse with orange). Black comes last: it is kept for text
#: and reference marks as long as fewer than seven series are drawn.
PALETTE = [
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish purple"],
    OKABE_ITO["sky blue"],
    OKABE_ITO["black"],
]

#: Heat maps: seaborn's "mako" reversed, light (low) to dark (high). Its lightness rises steadily
#: (it reads the same printed in grey) and its blue-green hues survive the common colour-vision
#: deficiencies; unlike viridis, low values are pale, so "more" reads as "darker" on a white page.
SEQUENTIAL_CMAP = "mako_r"

#: Several lines: the i-th series gets PALETTE[i], LINESTYLES[i % 4] and MARKERS[i].
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]

_REFERENCE = "#555555"  # split lines, the chance line: grey, not a series colour
_SHADE = "#9a9a9a"  # the shaded holdout region (drawn at alpha _SHADE_ALPHA)
_SHADE_ALPHA = 0.15

# --- sizes -----------------------------------------------------------------------------------

#: Figure size in inches and resolution: 8 x 4.5 in at 110 dpi = 880 x 495 px, shown 1:1 in the
#: report's column (about 930 px); PNGs stay small (~40-80 kB).
FIGSIZE = (8.0, 4.5)
DPI = 110
MAX_WIDTH_IN = 8.4  # widest figure (924 px): wider ones would be scaled down in the report
#: Font sizes in points (1 pt = DPI / 72 px = 1.53 px): ticks 10 pt = 15 px on screen.
FONT = {"title": 13, "label": 11, "tick": 10, "legend": 10, "note": 9, "annot": 8, "annot_small": 7}
MIN_TEXT_PX = 10  # no text smaller than this on screen (7 pt heat-map annotations = 10.7 px)


def use_theme() -> None:
    """Apply the workbench theme to everything drawn afterwards (call once at the top of a
    notebook): the palette, sizes and fonts above, plain-text labels, no offset or scientific
    notation on plain axes below a billion."""
    sns.set_theme(style="whitegrid", palette=PALETTE)
    plt.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": DPI,
            "savefig.dpi": "figure",
            "savefig.bbox": "tight",
            "font.size": FONT["label"],
            "axes.titlesize": FONT["title"],
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": FONT["label"],
            "xtick.labelsize": FONT["tick"],
            "ytick.labelsize": FONT["tick"],
            "legend.fontsize": FONT["legend"],
            "legend.title_fontsize": FONT["legend"],
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "lines.linewidth": 2.0,
            "image.cmap": SEQUENTIAL_CMAP,
            "axes.formatter.useoffset": False,
            "axes.formatter.limits": (-5, 9),
            "text.parse_math": False,
        }
    )


# --- number formats --------------------------------------------------------------------------

#: Number formats of a value axis (``xfmt``/``yfmt``); ``"pct"`` and ``"int"`` are accepted as
#: the metric kinds' names for ``"percent"`` and ``"count"``.
FORMATS = ("count", "share", "percent", "money")
_ALIASES = {"pct": "percent", "int": "count"}
_MAX_DECIMALS = 3


def _kind(kind: str) -> str:
    kind = _ALIASES.get(kind, kind)
    if kind not in FORMATS:
        raise ValueError(f"Unknown number format {kind!r}: use one of {', '.join(FORMATS)} (or None).")
    return kind


def _exact_decimals(values: Sequence[float], at_least: int = 0) -> int:
    """Fewest decimals (``at_least``..3) that write every value exactly (tick values are round)."""
    for d in range(at_least, _MAX_DECIMALS + 1):
        if all(abs(v * 10**d - round(v * 10**d)) < 1e-6 for v in values):
            return d
    return _MAX_DECIMALS


def _signed(value: float, body: str) -> str:
    """``body`` (the number's digits) with a minus sign when the value is negative and does not
    round to zero."""
    return MINUS + body if value < 0 and body.strip("0.,%M ") else body


def format_tick(
    value: float,
    kind: str,
    *,
    currency: str = "",
    span: float | None = None,
    ticks: Sequence[float] | None = None,
) -> str:
    """One number as a chart writes it on a value axis.

    ``kind``: ``"count"`` 12345 -> ``12,345`` (decimals only when the ticks need them);
    ``"share"`` (a fraction) 0.256 -> ``26 %``; ``"percent"`` (already 0-100) 25.6 -> ``26 %``:
    0 decimals when the axis spans more than 10 percentage points, else 1 (more only when the
    ticks need them); ``"money"``: ``currency`` before the number when it is a symbol
    (``$``, ``€``, ``£`` ...: ``$12,345``), after it otherwise (``12,345 USD``); millions as
    ``$2.5M``, cents only below 1,000 and when the ticks need them.
    ``span``: the axis range in the data's units (None: judge from the value alone);
    ``ticks``: all tick values on the axis, so that they share their decimals.
    """
    kind = _kind(kind)
    if value is None or not math.isfinite(value):
        return ""
    given = [float(t) for t in ticks] if ticks else []
    ticks = given or [float(value)]
    if kind in ("share", "percent"):
        factor = 100.0 if kind == "share" else 1.0
        points = value * factor
        if span is None:  # no axis: the reports' rule for one figure (helpers.core.formats.percent)
            a = abs(points)
            d = 0 if a == 0 or a >= 10 else 1 if a >= 1 else 2
        else:  # by the axis range: 0 decimals over 10 points, else 1; more only if the ticks need them
            d = _exact_decimals([t * factor for t in given], 0 if abs(span) * factor > 10 else 1)
        return _signed(points, f"{abs(points):,.{d}f} %")
    if kind == "count":
        d = _exact_decimals(ticks)
        return _signed(value, f"{abs(value):,.{d}f}")
    # money
    reference = max(abs(t) for t in [*ticks, value])
    if reference >= 1e6:
        d = _exact_decimals([t / 1e6 for t in ticks])
        number = f"{abs(value) / 1e6:,.{d}f}"
        body = "0" if not number.strip("0.") else f"{number}M"
    else:
        d = 0 if reference >= 1000 or _exact_decimals(ticks) == 0 else 2
        body = f"{abs(value):,.{d}f}"
    sign = MINUS if value < 0 and body.strip("0.,M") else ""
    if currency:
        body = f"{currency}{body}" if currency in PREFIX_CURRENCIES else f"{body} {currency}"
    return sign + body


class _TickFormatter(FuncFormatter):
    """A FuncFormatter that also sees every tick value and the axis range."""

    def __init__(self, kind: str, currency: str):
        self.kind, self.currency, self.tick_values = kind, currency, []
        super().__init__(self._label)

    def set_locs(self, locs):
        super().set_locs(locs)
        self.tick_values = list(locs)

    def _label(self, x, pos=None) -> str:
        span, ticks = None, None
        if self.axis is not None:
            lo, hi = sorted(self.axis.get_view_interval())
            span, eps = hi - lo, 1e-9 * max(1.0, abs(hi - lo))
            ticks = [t for t in self.tick_values if lo - eps <= t <= hi + eps] or None
        return format_tick(x, self.kind, currency=self.currency, span=span, ticks=ticks)


def axis_formatter(kind: str, *, currency: str | None = None) -> FuncFormatter:
    """A tick formatter for ``ax.xaxis``/``ax.yaxis`` (see :func:`format_tick`). ``currency``
    (money only): None = the run's currency (``rep.start(currency=...)``), ``""`` = none."""
    kind = _kind(kind)
    if currency is None:
        currency = metrics.currency() if kind == "money" else ""
    return _TickFormatter(kind, currency)


def _format_axis(axis: Axis, kind: str | None, currency: str | None, *, locate: bool = True) -> None:
    """Number format ``kind`` on ``axis``; counts also get whole-number ticks where the range
    holds enough of them (``locate``: not on a colour bar, which places its own ticks)."""
    if kind is None:
        return
    axis.set_major_formatter(axis_formatter(kind, currency=currency))
    if locate and _kind(kind) == "count":
        axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))


# --- checks and finishing --------------------------------------------------------------------


def _require(**texts) -> None:
    """Refuse to draw a chart without a title and axis labels (before any figure exists)."""
    missing = [name for name, text in texts.items() if text is None or not str(text).strip()]
    if missing:
        raise ValueError(f"Every chart needs a title and both axis labels with units (missing: {', '.join(missing)}).")


def _figure(figsize: tuple[float, float] = FIGSIZE):
    fig, ax = plt.subplots(figsize=figsize, dpi=DPI)
    return fig, ax


def _legend(ax, outside: bool = True, **kwargs) -> None:
    """A legend that does not cover data: outside the axes on the right (``outside``), else at
    the place matplotlib finds emptiest."""
    if outside:
        kwargs = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, **kwargs}
    else:
        kwargs = {"loc": "best", **kwargs}
    ax.legend(frameon=False, fontsize=FONT["legend"], **kwargs)


def _finish(ax, title: str, xlabel: str, ylabel: str) -> Figure:
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, loc="left", parse_math=False, fontsize=FONT["title"], fontweight="bold")
    ax.set_xlabel(xlabel, parse_math=False, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, parse_math=False, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.figure.tight_layout()
    return ax.figure


def _labels(ys: Sequence[str], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return [str(y) for y in ys]
    if len(labels) != len(ys):
        raise ValueError(f"{len(labels)} labels for {len(ys)} series.")
    return [str(label) for label in labels]


def _is_date(values) -> bool:
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    first = s.dropna()
    return len(first) > 0 and isinstance(first.iloc[0], (dt.date, np.datetime64))


# --- charts ----------------------------------------------------------------------------------
