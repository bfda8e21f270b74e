"""Pieces of a report a notebook displays: key-figure cards, rounded tables, sentences, CSV
exports. pandas and IPython are imported on use.

Everything from data is escaped on the way in: cards and tables HTML-escape every label, value,
header and cell; :func:`say` escapes the values it fills into its template and renders the
sentence to sanitised HTML (see :mod:`helpers.reporting.text`); CSV exports neutralise cells a
spreadsheet would run as formulas (:func:`helpers.core.io.write_csv_safe`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers.core.io import write_csv_safe
from helpers.reporting.metrics import run_dir
from helpers.reporting.text import esc, fill, markdown_html

__all__ = ["Sentence", "esc", "fmt_int", "key_figures", "say", "table", "write_table"]


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


class Sentence:
    """A report sentence: Markdown in the notebook (``.data``), sanitised HTML in the report."""

    def __init__(self, markdown: str):
        self.data = markdown

    def _repr_markdown_(self) -> str:
        return self.data

    def _repr_html_(self) -> str:
        return markdown_html(self.data)

    def __repr__(self) -> str:
        return f"Sentence({self.data!r})"


def say(template: str, *values, **named) -> Sentence:
    """A sentence of narrative computed from the results.

    ``template`` is trusted Markdown written by the project (a narrative helper's sentence, or
    the notebook's own words); anything that comes from data or a path goes in as ``values``,
    filled into the template's ``{}`` placeholders after escaping (format specs apply first):
    ``rep.say("**{}** has {:,} missing values.", column, n)``. With no values the template is
    shown as it is (so a literal ``{`` needs no doubling). A narrative helper that composes
    data into its sentence escapes it itself with :func:`esc`.

    Whatever the text, the report shows it as HTML without raw HTML or script links."""
    return Sentence(fill(template, *values, **named) if values or named else template)


def fmt_int(value) -> str:
    return f"{int(value):,}"


def write_table(frame, filename: str, index: bool = False) -> Path:
    """Write a CSV next to the report (atomically) and return its path; text cells that a
    spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` ...) get a leading ``'``."""
    return write_csv_safe(frame, run_dir() / filename, index=index)
