"""Pieces of a report a notebook displays: key-figure cards, rounded tables, sentences, CSV
exports. pandas and IPython are imported on use."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers.core.io import write_atomic
from helpers.reporting.metrics import run_dir


def key_figures(figures: Mapping[str, str]):
    """Summary cards: the headline numbers a reader should see first (label -> formatted value)."""
    from html import escape

    from IPython.display import HTML

    cards = "".join(
        f'<div class="wb-card"><div class="wb-card-value">{escape(str(v))}</div>'
        f'<div class="wb-card-label">{escape(str(k))}</div></div>'
        for k, v in figures.items()
    )
    return HTML(f'<div class="wb-cards">{cards}</div>')


def table(
    frame,
    decimals: int | Mapping[str, int] = 2,
    *,
    percent: Sequence[str] = (),
    index: bool = False,
    max_rows: int = 50,
    labels: Mapping[str, str] | None = None,
):
    """A rounded, readable HTML table (numbers with thousands separators, percentages marked).

    Column names are shown as words (``share_of_value_pct`` -> ``share of value pct``) unless
    ``labels`` gives them a better name.

    Formatting is done on a copy with ``DataFrame.to_html`` rather than pandas' ``Styler``:
    ``Styler.format`` would still need one formatter per column kind (and this module's
    ``_cell`` for mixed columns, where its ``na_rep``/``thousands`` do not reach), and it writes
    a ``<style>`` block and random ``id``s into every table, which makes reports differ from
    run to run without any change in content."""
    import pandas as pd
    from IPython.display import HTML

    df = frame.head(max_rows).copy()
    for col in df.columns:
        series = df[col]
        if col in percent:
            df[col] = series.map(lambda v: "" if pd.isna(v) else f"{v:.1f} %")
        elif pd.api.types.is_bool_dtype(series):
            continue
        elif pd.api.types.is_integer_dtype(series):
            df[col] = series.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        elif pd.api.types.is_float_dtype(series):
            d = decimals.get(col, 2) if isinstance(decimals, Mapping) else decimals
            df[col] = series.map(lambda v, d=d: "" if pd.isna(v) else f"{v:,.{d}f}")
        elif pd.api.types.is_datetime64_any_dtype(series):
            df[col] = series.dt.strftime("%Y-%m-%d")
        elif series.dtype == object:
            d = decimals.get(col, 2) if isinstance(decimals, Mapping) else decimals
            df[col] = series.map(lambda v, d=d: _cell(v, d))
    labels = dict(labels or {})
    df.columns = [labels.get(c, str(c).replace("_", " ")) for c in df.columns]
    html = df.to_html(index=index, classes="wb-table", border=0, na_rep="", escape=True)
    more = len(frame) - len(df)
    if more > 0:
        html += f'<p class="wb-note">… and {more:,} more rows.</p>'
    return HTML(html)


def _cell(value, decimals: int) -> str:
    """One value of a mixed column as text: blanks for missing, dates without midnight times."""
    import datetime as _dt

    import numpy as np
    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.strftime("%Y-%m-%d") if value.time() == _dt.time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.{decimals}f}"
    return str(value)


def say(text: str):
    """A sentence of narrative computed from the results (Markdown)."""
    from IPython.display import Markdown

    return Markdown(text)


def fmt_int(value) -> str:
    return f"{int(value):,}"


def write_table(frame, filename: str, index: bool = False) -> Path:
    """Write a CSV next to the report (atomically) and return its path."""
    return write_atomic(run_dir() / filename, lambda fh: frame.to_csv(fh, index=index), newline="")
