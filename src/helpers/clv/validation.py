"""Does the model predict what happened next? Holdout checks, model comparison and tracking.

Everything works on the per-customer summary (:mod:`helpers.clv.data`) and fitted transaction
models; the only heavy aggregation (repeat purchases per period, for the tracking plots) is a
portable Ibis expression.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import numpy as np
import pandas as pd

from helpers.clv.data import TX_SCHEMA, _as_date, _days_per_unit, _purchase_days
from helpers.core.engine import portable


def holdout_by_frequency(model, summary: pd.DataFrame, holdout_duration: float, max_bucket: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases per calibration frequency (the classic
    conditional-expectation check). The last bucket gathers ``max_bucket`` and more."""
    pred = np.asarray(
        model.expected_purchases(holdout_duration, summary["frequency"], summary["recency"], summary["T"]), dtype=float
    )
    bucket = np.minimum(summary["frequency"].to_numpy(), max_bucket)
    df = pd.DataFrame({"bucket": bucket, "actual": summary["frequency_holdout"].to_numpy(), "predicted": pred})
    out = df.groupby("bucket").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    out.index = [f"{b}+" if b == max_bucket else str(b) for b in out.index]
    out.index.name = "calibration_repeat_purchases"
    return out.reset_index()


def holdout_errors(model, summary: pd.DataFrame, holdout_duration: float) -> dict[str, float]:
    """Customer-level and total holdout errors of a transaction model."""
    pred = np.asarray(
        model.expected_purchases(holdout_duration, summary["frequency"], summary["recency"], summary["T"]), dtype=float
    )
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    return {
        "predicted_total": float(pred.sum()),
        "actual_total": float(actual.sum()),
        "total_error_pct": float(100 * (pred.sum() - actual.sum()) / actual.sum()) if actual.sum() else float("nan"),
        "mae": float(np.abs(pred - actual).mean()),
        "rmse": float(np.sqrt(((pred - actual) ** 2).mean())),
    }


def compare_models(models: Mapping[str, object], summary: pd.DataFrame, holdout_duration: float | None) -> pd.DataFrame:
    """Fit statistics and holdout errors side by side (one row per model; lower AIC/MAE is better)."""
    rows = []
    for name, model in models.items():
        stats = model.fit_statistics()
        row = {"model": name, "log_likelihood": stats["log_likelihood"], "aic": stats["aic"], "bic": stats["bic"]}
        if holdout_duration:
            err = holdout_errors(model, summary, holdout_duration)
            row.update(
                holdout_predicted=err["predicted_total"],
                holdout_actual=err["actual_total"],
                holdout_error_pct=err["total_error_pct"],
                holdout_mae=err["mae"],
            )
        rows.append(row)
    return pd.DataFrame(rows)


@portable(TX_SCHEMA)
def repeat_purchases_by_period_expr(
    table: ibis.Table,
    start: str = "1997-01-01",
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    days: bool = False,
) -> ibis.Table:
    """Repeat purchases (purchase days after each customer's first) per period since ``start``.

    ``period`` 0 covers the first ``time_unit`` from ``start`` (weeks of 7 days or days);
    ``days=True``: ``table`` already holds purchase days.
    """
    days = _purchase_days(table, customer_col, date_col, amount_col, days)
    first = days.group_by("customer_id").aggregate(first_purchase=days.date.min())
    j = days.join(first, "customer_id")
    repeat = j.filter(j.date > j.first_purchase)
    period = _period(repeat.date, start, time_unit)
    return repeat.group_by(period=period).aggregate(repeat_purchases=repeat.count()).order_by("period")


def _period(date: ibis.Value, start, time_unit: str) -> ibis.Value:
    offset = date.delta(_as_date(start), unit="day")
    return (offset.cast("float64") / _days_per_unit(time_unit)).floor().cast("int64")


@portable(TX_SCHEMA)
def purchases_by_period_expr(
    table: ibis.Table,
    start: str = "1997-01-01",
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    days: bool = False,
) -> ibis.Table:
    """Purchase days (first purchases included) per period since ``start``, as
    :func:`repeat_purchases_by_period_expr` but without finding each customer's first purchase:
    one pass, no join (``days=True``: ``table`` already holds purchase days)."""
    days = _purchase_days(table, customer_col, date_col, amount_col, days)
    period = _period(days.date, start, time_unit)
    return days.group_by(period=period).aggregate(purchases=days.count()).order_by("period")


def tracking(
    model,
    table: ibis.Table,
    first_purchases: pd.Series,
    start,
    end,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    days: bool = False,
    every_customer: bool = False,
) -> pd.DataFrame:
    """Actual vs expected repeat purchases per period (and cumulative), from ``start`` to ``end``
    (``days=True``: ``table`` already holds purchase days).

    Expected: for each customer born at s_i, E[X(t - s_i)] from the model's unconditional
    expectation, summed over customers (grouped by first-purchase day for speed).
    ``every_customer=True`` says that ``first_purchases`` holds the first purchase of every
    customer of ``table`` first seen by ``end``: the actual repeat purchases are then the purchase
    days per period less those first purchases (one pass over the log, no join).
    """
    unit_days = _days_per_unit(time_unit)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n_periods = int(np.ceil(((end - start).days + 1) / unit_days))
    if every_customer:
        every = purchases_by_period_expr(
            table, start.date().isoformat(), time_unit, customer_col, date_col, amount_col, days
        )
        every = every.execute().set_index("period")["purchases"].reindex(range(n_periods), fill_value=0)
        born = np.floor((pd.DatetimeIndex(first_purchases) - start).days.to_numpy() / unit_days).astype(np.int64)
        born = np.bincount(born[(born >= 0) & (born < n_periods)], minlength=n_periods)
        actual = every - born
    else:
        actual = repeat_purchases_by_period_expr(
            table, start.date().isoformat(), time_unit, customer_col, date_col, amount_col, days
        ).execute()
        actual = actual.set_index("period")["repeat_purchases"].reindex(range(n_periods), fill_value=0)
    births = pd.to_datetime(first_purchases).value_counts()
    birth_offsets = ((births.index - start).days.to_numpy() + 1) / unit_days  # a purchase day ends at its close
    counts = births.to_numpy(dtype=float)
    period_ends = np.arange(1, n_periods + 1, dtype=float)
    elapsed = np.clip(period_ends[:, None] - birth_offsets[None, :], 0.0, None)
    expected_cum = (
        np.asarray(model.expected_purchases_new_customer(elapsed.ravel()), dtype=float).reshape(elapsed.shape) @ counts
    )
    out = pd.DataFrame(
        {
            "period": np.arange(n_periods),
            "period_start": start + pd.to_timedelta(np.arange(n_periods) * unit_days, unit="D"),
            "actual": actual.to_numpy(dtype=float),
            "expected": np.diff(np.concatenate([[0.0], expected_cum])),
        }
    )
    out["actual_cumulative"] = out["actual"].cumsum()
    out["expected_cumulative"] = expected_cum
    return out
