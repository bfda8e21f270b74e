"""Pieces of a report a notebook displays: key-figure cards, rounded tables, sentences, CSV
exports. pandas and IPython are imported on use.

Everything from data is escaped on the way in: cards and tables HTML-escape every label, value,
header and cell; :func:`say` escapes the values it fills into its template and renders the
sentence to sanitised HTML (see :mod:`helpers.reporting.text`); CSV exports neutralise cells a
spreadsheet would run as formulas (:func:`helpers.core.io.write_csv_safe`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape as esc_html
from pathlib import Path

from helpers.core.formats import fixed
from helpers.core.io import write_csv_safe, write_parquet
from helpers.reporting.metrics import run_dir
from helpers.reporting.text import esc, fill, markdown_html

__all__ = ["Sentence", "esc", "fmt_int", "key_figures", "say", "table", "write_table"]


def key_figures(figures: Mapping[str, str]):
    """Cards of already formatted figures (label -> value), e.g. for a section's own numbers;
    the report's opening figures go through :func:`helpers.reporting.summary.summary`, which
    labels and formats recorded metrics itself."""
    from IPython.display import HTML

    from helpers.reporting.summary import card

    return HTML(f'<div class="wb-cards">{"".join(card(str(k), str(v)) for k, v in figures.items())}</div>')


def table(
    frame,
    decimals: int | Mapping[str, int] = 2,
    *,
    percent: Sequence[str] = (),
    index: bool = False,
    max_rows: int = 20,
    labels: Mapping[str, str] | None = None,
    csv: str | None = None,
    saved_as: str | Path | None = None,
):
    """A rounded, readable HTML table: numbers with thousands separators (right-aligned),
    percentages marked, dates without midnight times, text that wraps; the table scrolls inside
    its own box when it is wider than the page.

    Column names are shown as words (``share_of_value_pct`` -> ``share of value pct``) unless
    ``labels`` gives them a better name. A table longer than ``max_rows`` shows its first rows
    and saves the whole table beside the report as CSV (``csv``, else a name made from its
    columns), linked under it; ``saved_as`` names a file that already holds the whole table
    (e.g. a load's ``quarantine_path``), linked instead of writing another.

    The HTML is written here rather than by pandas' ``to_html``/``Styler``: each cell gets a
    class by its column's kind (``num`` or ``text``) so that the stylesheet can align numbers and
    wrap text, every value is escaped, and no random ``id`` or ``<style>`` block makes two runs
    with the same numbers differ."""
    import pandas as pd
    from IPython.display import HTML

    shown = frame.head(max_rows)
    if index:
        shown = shown.reset_index()
    columns, numeric, kinds = [], [], []
    for col in shown.columns:
        series = shown[col]
        d = decimals.get(col, 2) if isinstance(decimals, Mapping) else decimals
        is_num = col in percent or (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))
        if col in percent:
            cells = series.map(lambda v: "" if pd.isna(v) else f"{v:.1f} %")
        elif pd.api.types.is_bool_dtype(series):
            cells = series.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
        elif pd.api.types.is_integer_dtype(series):
            cells = series.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        elif pd.api.types.is_float_dtype(series):
            cells = series.map(lambda v, d=d: "" if pd.isna(v) else fixed(v, d))
        elif pd.api.types.is_datetime64_any_dtype(series):
            cells = series.map(lambda v, d=d: _cell(v, d))
        else:
            cells = series.map(lambda v, d=d: _cell(v, d))
        columns.append(list(cells))
        numeric.append(is_num)
        kinds.append("num" if is_num else ("text long" if max(map(len, columns[-1]), default=0) > 24 else "text"))
    names = dict(labels or {})
    head = "".join(
        f'<th scope="col" class="{"num" if n else "text"}">{esc_html(names.get(c, str(c).replace("_", " ")))}</th>'
        for c, n in zip(shown.columns, numeric, strict=True)
    )
    rows = []
    for i in range(len(shown)):
        cells = "".join(f'<td class="{k}">{esc_html(col[i])}</td>' for col, k in zip(columns, kinds, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    html = (
        f'<div class="wb-table-wrap"><table class="wb-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    more = len(frame) - len(shown)
    if more > 0:
        if saved_as is not None:
            path = Path(saved_as)
            name = path.name
        else:
            name = csv or _table_file_name(frame)
            path = write_table(frame, name, index=index)
        html += (
            f'<p class="wb-note">Showing the first {len(shown):,} of {len(frame):,} rows; the whole table is in '
            f'<a href="{esc_html(_link(path))}">{esc_html(name)}</a> beside this report.</p>'
        )
    return HTML(html)


def _table_file_name(frame) -> str:
    import hashlib

    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode()).hexdigest()[:8]
    return f"table-{digest}.csv"


def _link(path: Path) -> str:
    """How the report (or, in JupyterLab, the notebook) reaches a file in the run folder."""
    import os

    from helpers.core import runfiles

    if runfiles.under_runner():
        try:
            return Path(path).resolve().relative_to(run_dir().resolve()).as_posix()
        except ValueError:
            return Path(path).name
    try:
        return Path(os.path.relpath(path, Path.cwd())).as_posix()
    except ValueError:
        return path.as_posix()


def _cell(value, decimals: int) -> str:
    """One value of a mixed column as text: blanks for missing, dates without midnight times."""
    import datetime as _dt

    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
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
        return fixed(value, decimals)
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
    """Write a table next to the report (atomically) and return its path: Parquet when
    ``filename`` ends in ``.parquet``, else CSV, where text cells that a spreadsheet would run
    as a formula (``=``, ``+``, ``-``, ``@`` ...) get a leading ``'``."""
    if str(filename).lower().endswith(".parquet"):
        return write_parquet(frame, run_dir() / filename, index=index)
    return write_csv_safe(frame, run_dir() / filename, index=index)
