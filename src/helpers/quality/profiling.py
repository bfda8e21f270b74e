"""Profiling any checked input: missing values, ranges, distinct values, date coverage,
distributions and duplicates. Every aggregation is an Ibis expression (portable to Spark);
what comes back is a small pandas table.

The sentences here name columns and quote the reasons rows were set aside (which name columns
too): those are data, escaped with :func:`helpers.reporting.text.esc` before they meet the
report's Markdown."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from helpers.core.engine import portable
from helpers.quality.duplicates import duplicate_rows, duplicate_rows_expr
from helpers.reporting.text import esc

__all__ = [
    "Profile",
    "column_profile",
    "duplicate_rows",
    "duplicate_rows_expr",
    "histogram",
    "monthly_counts",
    "top_values",
]

_EXAMPLE = {"customer_id": "string", "date": "date", "amount": "float64", "quantity": "int64"}


def _kind(dtype: dt.DataType) -> str:
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal():
        return "date"
    return "text"


@portable(_EXAMPLE)
def column_profile_expr(table: ibis.Table) -> ibis.Table:
    """One row: for every column its missing count, distinct count, and min/max (mean/std for numbers)."""
    aggs = {"__rows": table.count()}
    for name, dtype in table.schema().items():
        col = table[name]
        aggs[f"{name}__missing"] = col.isnull().sum()
        aggs[f"{name}__distinct"] = col.nunique()
        if dtype.is_numeric() or dtype.is_temporal():
            aggs[f"{name}__min"] = col.min()
            aggs[f"{name}__max"] = col.max()
        if dtype.is_numeric():
            aggs[f"{name}__mean"] = col.cast("float64").mean()
            aggs[f"{name}__std"] = col.cast("float64").std()
    return table.aggregate(**aggs)


def column_profile(table: ibis.Table) -> pd.DataFrame:
    """Per column: type, non-missing, missing (count and %), distinct, min, max, mean, std."""
    row = column_profile_expr(table).execute().iloc[0]
    n = int(row["__rows"])
    records = []
    for name, dtype in table.schema().items():
        missing = int(row[f"{name}__missing"] or 0)
        records.append(
            {
                "column": name,
                "type": _kind(dtype),
                "non_missing": n - missing,
                "missing": missing,
                "missing_pct": 100.0 * missing / n if n else np.nan,
                "distinct": int(row[f"{name}__distinct"]),
                "min": row.get(f"{name}__min"),
                "max": row.get(f"{name}__max"),
                "mean": row.get(f"{name}__mean"),
                "std": row.get(f"{name}__std"),
            }
        )
    return pd.DataFrame.from_records(records)


@portable(_EXAMPLE)
def monthly_counts_expr(table: ibis.Table, date_col: str = "date") -> ibis.Table:
    """Rows per calendar month of ``date_col`` (``month`` is the first day of the month)."""
    month = table[date_col].truncate("M").name("month")
    return table.group_by(month).aggregate(rows=table.count()).order_by("month")


def monthly_counts(table: ibis.Table, date_col: str) -> pd.DataFrame:
    out = monthly_counts_expr(table, date_col).execute()
    out["month"] = pd.to_datetime(out["month"])
    return out


@portable(_EXAMPLE)
def histogram_expr(table: ibis.Table, column: str = "amount", lo: float = 0.0, hi: float = 100.0, bins: int = 30):
    """Counts of ``column`` in ``bins`` equal-width bins between ``lo`` and ``hi`` (higher values in the last)."""
    present = table.filter(table[column].notnull())
    col = present[column].cast("float64")
    width = (hi - lo) / bins if hi > lo else 1.0
    idx = ((col - lo) / width).floor().cast("int64")
    idx = ibis.ifelse(idx >= bins, bins - 1, idx).name("bin")
    return present.group_by(idx).aggregate(rows=present.count()).order_by("bin")


def histogram(table: ibis.Table, column: str, bins: int = 30, clip_quantile: float | None = 0.99) -> pd.DataFrame:
    """Equal-width histogram (``left``, ``right``, ``rows``); the range stops at ``clip_quantile``
    so that a few extreme values do not squash the picture (they fall in the last bin)."""
    col = table[column].cast("float64")
    stats = (
        table.aggregate(lo=col.min(), hi=col.quantile(clip_quantile) if clip_quantile else col.max()).execute().iloc[0]
    )
    lo, hi = float(stats["lo"]), float(stats["hi"])
    if not np.isfinite(lo) or not np.isfinite(hi):
        return pd.DataFrame(columns=["left", "right", "rows"])
    if hi <= lo:
        hi = lo + 1.0
    counts = histogram_expr(table, column, lo, hi, bins).execute()
    width = (hi - lo) / bins
    full = pd.DataFrame({"bin": np.arange(bins)}).merge(counts, on="bin", how="left").fillna({"rows": 0})
    full["left"] = lo + full["bin"] * width
    full["right"] = full["left"] + width
    return full[["left", "right", "rows"]].astype({"rows": "int64"})


@portable(_EXAMPLE)
def top_values_expr(table: ibis.Table, column: str = "customer_id", k: int = 10) -> ibis.Table:
    """The ``k`` most frequent values of ``column`` with their row counts."""
    return (
        table.group_by(table[column].name("value"))
        .aggregate(rows=table.count())
        .order_by([ibis.desc("rows"), "value"])
        .limit(k)
    )


def top_values(table: ibis.Table, column: str, k: int = 10) -> pd.DataFrame:
    return top_values_expr(table, column, k).execute()


class Profile:
    """Everything the data-quality report shows about one checked input (small pandas tables)."""

    def __init__(self, loaded, histogram_bins: int = 30):
        table = loaded.table
        self.loaded = loaded
        self.columns = column_profile(table)
        self.duplicates = duplicate_rows(table) if loaded.rows_accepted else 0
        self.reasons = loaded.reasons
        self.date_columns = [c for c, t in loaded.schema.items() if t == "date"]
        self.number_columns = [c for c, t in loaded.schema.items() if t in ("number", "integer", "count")]
        self.monthly = {c: monthly_counts(table, c) for c in self.date_columns} if loaded.rows_accepted else {}
        self.histograms = (
            {c: histogram(table, c, histogram_bins) for c in self.number_columns} if loaded.rows_accepted else {}
        )

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        if not self.date_columns:
            return None
        row = self.columns.set_index("column").loc[self.date_columns[0]]
        if row["min"] is None or pd.isna(row["min"]):
            return None
        return pd.Timestamp(row["min"]), pd.Timestamp(row["max"])

    def metrics(self) -> dict:
        """Key figures for metrics.json (the row counts are recorded by ``contracts.load``)."""
        worst = self.columns.sort_values("missing_pct", ascending=False).iloc[0] if len(self.columns) else None
        out = {
            "columns": len(self.columns),
            "duplicate_rows": int(self.duplicates),
            "max_missing_pct": float(worst["missing_pct"]) if worst is not None else 0.0,
        }
        rng = self.date_range()
        if rng:
            out["date_min"], out["date_max"] = rng[0].date().isoformat(), rng[1].date().isoformat()
        return out

    def quality_sentence(self) -> str:
        """What the checks mean, in one or two plain sentences (Markdown; data text escaped)."""
        ld = self.loaded
        share = ld.rows_quarantined / ld.rows_read if ld.rows_read else 0.0
        if ld.rows_quarantined == 0:
            text = f"All {ld.rows_read:,} rows met the {esc(ld.kind)} contract; none were set aside."
        else:
            top = self.reasons.iloc[0]
            text = (
                f"{ld.rows_quarantined:,} of {ld.rows_read:,} rows ({100 * share:.2f} %) broke the {esc(ld.kind)} "
                f"contract and were set aside with their reasons; the most common was \u201c{esc(top['reason'])}\u201d "
                f"({int(top['rows']):,} rows). The analysis uses the {ld.rows_accepted:,} accepted rows."
            )
        if self.duplicates:
            text += f" {self.duplicates:,} accepted rows repeat an earlier row exactly: check whether they are true repeats."
        return text

    def summary_figures(self) -> dict[str, str]:
        """The report's summary cards: recorded metric key -> card label."""
        name = self.loaded.name
        out = {
            f"rows.{name}.read": "Rows read",
            f"rows.{name}.accepted": "Rows accepted",
            f"rows.{name}.quarantined_share": "Share of rows set aside",
            "duplicate_rows": "Exact duplicate rows",
            "max_missing_pct": "Most missing in one column",
        }
        if self.date_range():
            out.update({"date_min": "First date", "date_max": "Last date"})
        return out

    def missing_sentence(self) -> str:
        """Which column misses most values, or that none misses any (Markdown; names escaped)."""
        cols = self.columns
        if not len(cols) or not cols["missing"].any():
            return f"No value is missing in any of the {len(cols):,} columns of the accepted rows."
        worst = cols.sort_values("missing_pct", ascending=False).iloc[0]
        return (
            f"**{esc(worst['column'])}** misses the most values: {int(worst['missing']):,} of "
            f"{int(worst['non_missing'] + worst['missing']):,} accepted rows ({worst['missing_pct']:.1f} %)."
        )

    def coverage_sentence(self) -> str:
        """How the first date column covers its months: the span, and any month with no rows
        (usually a missing extract). Empty without a date column or accepted rows."""
        if not self.date_columns or self.date_columns[0] not in self.monthly:
            return ""
        col = self.date_columns[0]
        monthly = self.monthly[col]
        if monthly.empty:
            return ""
        months = pd.period_range(monthly["month"].min(), monthly["month"].max(), freq="M")
        present = set(monthly["month"].dt.to_period("M"))
        gaps = [m for m in months if m not in present]
        span = f"The dates in **{esc(col)}** cover {len(months):,} calendar month{'s' if len(months) != 1 else ''}"
        if not gaps:
            return span + ", each with rows."
        shown = ", ".join(str(m) for m in gaps[:4]) + (" ..." if len(gaps) > 4 else "")
        return f"{span}; {len(gaps):,} of them have no rows at all ({shown}): check for a missing extract."

    def summary_findings(self) -> list[str]:
        """The report's findings: what was set aside, missing values, date coverage."""
        return [s for s in (self.quality_sentence(), self.missing_sentence(), self.coverage_sentence()) if s]
