"""From a transaction log to the per-customer summaries the CLV models need (Ibis, portable).

Conventions (Fader & Hardie):
- A *purchase* is a customer-day with at least one order of amount >= 0: several orders on one
  day are one purchase (their amounts summed). A zero-value order (a free item, a fully
  discounted order) is still a visit, so it counts, as in Fader & Hardie's CDNOW summaries.
  Rows with a negative amount (returns, refunds) are not purchases: they are excluded from
  frequency, recency and spend and counted (``negative_rows``, ``negative_amount``).
- ``frequency``: repeat purchases in the calibration period (purchase days after the first).
- ``recency``: time from the first purchase to the last calibration purchase (0 if none).
- ``T``: time from the first purchase to the end of calibration.
- ``monetary``: mean spend of the repeat purchases in calibration (0 when frequency is 0); the
  first purchase is left out, as in the Gamma-Gamma model.
- ``frequency_holdout`` / ``monetary_holdout``: purchases (and their mean spend) after
  calibration up to ``observation_end``.
Times are in ``time_unit``: ``"W"`` weeks (days / 7) or ``"D"`` days. Dates are inclusive.
Customers whose first purchase falls after the calibration end are not in the summary; they are
counted as ``customers_first_seen_in_holdout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import pandas as pd

from helpers.core.engine import portable
from helpers.core.units import days_per_unit

TX_SCHEMA = {"customer_id": "string", "date": "date", "amount": "float64"}
SUMMARY_DTYPES = {
    "customer_id": "string",
    "first_purchase": "datetime64[ns]",
    "frequency": "int64",
    "recency": "float64",
    "T": "float64",
    "monetary": "float64",
    "frequency_holdout": "int64",
    "monetary_holdout": "float64",
    "spend_calibration": "float64",
}


MONEY_COLUMNS = ("monetary", "monetary_holdout", "spend_calibration")
MONEY_DECIMALS = 9

SUMMARY_UNITS = ("W", "D")  # the units a transaction-log summary is measured in


def _days_per_unit(time_unit: str) -> float:
    return days_per_unit(time_unit, SUMMARY_UNITS)


def _as_date(value) -> ibis.Value | None:
    if value is None:
        return None
    return ibis.date(pd.Timestamp(value).date().isoformat())


def purchase_days_expr(table: ibis.Table, customer_col="customer_id", date_col="date", amount_col="amount"):
    """One row per customer-day with an order of amount >= 0: ``customer_id, date, amount``."""
    t = table.filter(table[amount_col] >= 0)
    return t.group_by(customer_id=t[customer_col].cast("string"), date=t[date_col].cast("date")).aggregate(
        amount=t[amount_col].sum()
    )


@portable(TX_SCHEMA)
def customer_summary_expr(
    table: ibis.Table,
    calibration_end: str | date | None = None,
    observation_end: str | date | None = None,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> ibis.Table:
    """Per-customer ``frequency, recency, T, monetary`` (+ holdout columns); see the module doc.

    ``calibration_end`` defaults to the last date in the data; ``observation_end`` to the
    calibration end (no holdout).
    """
    every = _every_customer_expr(table, calibration_end, observation_end, time_unit, customer_col, date_col, amount_col)
    return every.filter(every.first_purchase <= _calibration_end(table, calibration_end, date_col))


def _calibration_end(table: ibis.Table, calibration_end, date_col: str):
    if calibration_end is not None:
        return _as_date(calibration_end)
    return table[date_col].cast("date").max().as_scalar()  # a scalar subquery, usable inside FILTER


def _every_customer_expr(table, calibration_end, observation_end, time_unit, customer_col, date_col, amount_col):
    """The summary's columns for every customer in the log, including those first seen after the
    calibration end (whose calibration columns are meaningless: the callers drop them)."""
    unit = _days_per_unit(time_unit)
    days = purchase_days_expr(table, customer_col, date_col, amount_col)
    cal = _calibration_end(table, calibration_end, date_col)
    obs = _as_date(observation_end) if observation_end is not None else cal
    in_cal = days.date <= cal
    in_hold = (days.date > cal) & (days.date <= obs)
    per = days.group_by("customer_id").aggregate(
        first_purchase=days.date.min(),
        first_spend=days.amount.argmin(days.date),
        last_purchase=days.date.max(where=in_cal),
        cal_days=in_cal.cast("int64").sum(),
        cal_spend=days.amount.sum(where=in_cal),
        frequency_holdout=in_hold.cast("int64").sum(),
        holdout_spend=days.amount.sum(where=in_hold),
    )
    frequency = (per.cal_days - 1).cast("int64")
    repeat_spend = per.cal_spend - per.first_spend
    return per.select(
        customer_id=per.customer_id,
        first_purchase=per.first_purchase,
        frequency=frequency,
        recency=(per.last_purchase.delta(per.first_purchase, unit="day").cast("float64") / unit),
        T=(cal.delta(per.first_purchase, unit="day").cast("float64") / unit),
        monetary=ibis.ifelse(frequency > 0, repeat_spend / frequency.cast("float64"), 0.0),
        frequency_holdout=per.frequency_holdout.cast("int64"),
        monetary_holdout=ibis.ifelse(
            per.frequency_holdout > 0, per.holdout_spend / per.frequency_holdout.cast("float64"), 0.0
        ),
        spend_calibration=per.cal_spend,
    )


@portable(TX_SCHEMA)
def transaction_checks_expr(
    table: ibis.Table,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> ibis.Table:
    """One row of counts: rows, returns (negative amounts) and their total, zero-value rows, dates."""
    amount = table[amount_col]
    return table.aggregate(
        rows=table.count(),
        negative_rows=(amount < 0).cast("int64").sum(),
        zero_rows=(amount == 0).cast("int64").sum(),
        negative_amount=amount.sum(where=amount < 0),
        customers=table[customer_col].nunique(),
        first_date=table[date_col].min(),
        last_date=table[date_col].max(),
    )


@portable(TX_SCHEMA)
def cohort_activity_expr(
    table: ibis.Table, customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount"
) -> ibis.Table:
    """Active customers per monthly acquisition cohort and months since the first purchase.

    ``cohort`` is the month of a customer's first purchase; ``months_since`` 0 is that month.
    """
    days = purchase_days_expr(table, customer_col, date_col, amount_col)
    month_index = days.date.year() * 12 + days.date.month() - 1
    m = days.select(customer_id=days.customer_id, month_index=month_index)
    first = m.group_by("customer_id").aggregate(cohort_index=m.month_index.min())
    j = m.join(first, "customer_id")
    return (
        j.group_by(cohort_index=j.cohort_index, months_since=j.month_index - j.cohort_index)
        .aggregate(active_customers=j.customer_id.nunique())
        .order_by(["cohort_index", "months_since"])
    )


@dataclass
class SummaryResult:
    """The per-customer summary and what was set aside on the way."""

    summary: pd.DataFrame
    rows: int
    negative_rows: int
    zero_rows: int
    negative_amount: float
    customers_in_log: int
    customers_first_seen_in_holdout: int
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    time_unit: str

    @property
    def has_holdout(self) -> bool:
        return self.observation_end > self.calibration_end

    @property
    def holdout_duration(self) -> float:
        """Length of the holdout period in ``time_unit``."""
        return (self.observation_end - self.calibration_end).days / _days_per_unit(self.time_unit)

    def describe_exclusions(self) -> str:
        """The stated rule for returns and zero-value rows, with the counts."""
        parts = []
        if self.negative_rows:
            parts.append(
                f"{self.negative_rows:,} rows with a negative amount (returns totalling {self.negative_amount:,.2f}) "
                "are not purchases and are left out of frequency, recency and spend."
            )
        if self.zero_rows:
            parts.append(f"{self.zero_rows:,} zero-value orders count as purchases (a visit), with zero spend.")
        return " ".join(parts) or "No returns or zero-value orders were found."


def customer_summary(
    table: ibis.Table,
    calibration_end=None,
    observation_end=None,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> SummaryResult:
    """Run the summary expressions on the table's engine and return small pandas tables."""
    checks = transaction_checks_expr(table, customer_col, date_col, amount_col).execute().iloc[0]
    last = pd.Timestamp(checks["last_date"])
    cal = pd.Timestamp(calibration_end) if calibration_end is not None else last
    obs = pd.Timestamp(observation_end) if observation_end is not None else cal
    if obs < cal:
        raise ValueError(f"observation_end ({obs.date()}) is before calibration_end ({cal.date()}).")
    # one pass over the log: every customer, then those first seen after calibration counted and dropped
    every = _every_customer_expr(table, cal, obs, time_unit, customer_col, date_col, amount_col)
    summary = every.to_pyarrow().to_pandas()
    first_seen_late = pd.to_datetime(summary["first_purchase"]) > cal
    late = int(first_seen_late.sum())
    summary = summary[~first_seen_late].astype({k: v for k, v in SUMMARY_DTYPES.items() if k in summary.columns})
    summary = summary.sort_values("customer_id", ignore_index=True)
    # Engines add in different orders (Spark by partition), which moves the last bits of a sum;
    # money rounded to 1e-9 gives every engine the same table, so the same fits and scores.
    for col in MONEY_COLUMNS:
        if col in summary.columns:
            summary[col] = summary[col].round(MONEY_DECIMALS)
    return SummaryResult(
        summary=summary,
        rows=int(checks["rows"]),
        negative_rows=int(checks["negative_rows"] or 0),
        zero_rows=int(checks["zero_rows"] or 0),
        negative_amount=float(checks["negative_amount"] or 0.0),
        customers_in_log=int(checks["customers"]),
        customers_first_seen_in_holdout=late,
        calibration_end=cal,
        observation_end=obs,
        time_unit=time_unit.upper(),
    )


def cohort_retention(
    table: ibis.Table, customer_col="customer_id", date_col="date", amount_col="amount"
) -> pd.DataFrame:
    """Share of each monthly acquisition cohort active in each month since its first purchase.

    Rows: cohort (first day of the first-purchase month); columns: months since (0, 1, ...);
    values in [0, 1]. Cells not yet observable are missing. ``attrs['sizes']`` holds cohort sizes.
    """
    act = cohort_activity_expr(table, customer_col, date_col, amount_col).execute()
    if act.empty:
        return pd.DataFrame()
    act["cohort"] = pd.to_datetime({"year": act["cohort_index"] // 12, "month": act["cohort_index"] % 12 + 1, "day": 1})
    counts = act.pivot_table(index="cohort", columns="months_since", values="active_customers", aggfunc="sum")
    sizes = counts[0]
    retention = counts.div(sizes, axis=0)
    last_index = int((act["cohort_index"] + act["months_since"]).max())
    cohort_index = act.groupby("cohort")["cohort_index"].first().reindex(retention.index)
    retention = retention.reindex(columns=range(int(last_index - cohort_index.min()) + 1))
    observable = (last_index - cohort_index).to_numpy()[:, None]
    retention = retention.fillna(0.0).where(retention.columns.to_numpy()[None, :] <= observable)
    retention.attrs["sizes"] = sizes
    retention.columns.name = "months_since_first_purchase"
    return retention
