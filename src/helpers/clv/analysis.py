"""Validation, value tiers and churn early warning on top of the fitted CLV models.

Everything here works on the per-customer summary (``helpers.clv.summary``) and fitted models
(``helpers.clv.models``); the only heavy aggregation (repeat purchases per period, for the
tracking plots) is a portable Ibis expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from helpers.clv.summary import TX_SCHEMA, _as_date, _days_per_unit, purchase_days_expr
from helpers.core.engine import portable

# --------------------------------------------------------------------------------------------
# Calibration vs holdout


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
) -> ibis.Table:
    """Repeat purchases (purchase days after each customer's first) per period since ``start``.

    ``period`` 0 covers the first ``time_unit`` from ``start`` (weeks of 7 days or days).
    """
    days = purchase_days_expr(table, customer_col, date_col, amount_col)
    first = days.group_by("customer_id").aggregate(first_purchase=days.date.min())
    j = days.join(first, "customer_id")
    repeat = j.filter(j.date > j.first_purchase)
    offset = repeat.date.delta(_as_date(start), unit="day")
    period = (offset.cast("float64") / _days_per_unit(time_unit)).floor().cast("int64")
    return repeat.group_by(period=period).aggregate(repeat_purchases=repeat.count()).order_by("period")


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
) -> pd.DataFrame:
    """Actual vs expected repeat purchases per period (and cumulative), from ``start`` to ``end``.

    Expected: for each customer born at s_i, E[X(t - s_i)] from the model's unconditional
    expectation, summed over customers (grouped by first-purchase day for speed).
    """
    unit_days = _days_per_unit(time_unit)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n_periods = int(np.ceil(((end - start).days + 1) / unit_days))
    actual = repeat_purchases_by_period_expr(
        table, start.date().isoformat(), time_unit, customer_col, date_col, amount_col
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


# --------------------------------------------------------------------------------------------
# Value tiers and churn early warning


def value_tiers(
    clv: pd.Series, shares: Sequence[float] = (0.2, 0.3), labels: Sequence[str] = ("top", "middle", "rest")
) -> pd.Series:
    """Tier per customer by predicted CLV: the top ``shares[0]`` of customers, the next
    ``shares[1]``, and the rest (default 20 % / 30 % / 50 %). Ties share a tier by rank order."""
    if len(labels) != len(shares) + 1:
        raise ValueError("labels must have one more entry than shares")
    if any(s <= 0 for s in shares) or sum(shares) >= 1:
        raise ValueError("shares must be positive and add up to less than 1")
    rank = clv.rank(ascending=False, method="first") / len(clv)
    edges = np.cumsum([0.0, *shares, 1.0])
    tier = pd.cut(rank, bins=edges, labels=list(labels), include_lowest=True)
    return tier.astype(pd.CategoricalDtype(list(labels), ordered=True))


def tier_table(customers: pd.DataFrame, tier_col: str = "value_tier", clv_col: str = "clv") -> pd.DataFrame:
    """Customers, total and share of predicted value per tier."""
    t = customers.groupby(tier_col, observed=True)[clv_col].agg(customers="size", total_clv="sum", mean_clv="mean")
    t["share_of_value_pct"] = 100 * t["total_clv"] / t["total_clv"].sum()
    return t.reset_index()


def at_risk(
    customers: pd.DataFrame, threshold: float, p_alive_col: str = "p_alive", clv_col: str = "clv"
) -> pd.DataFrame:
    """Customers whose P(alive) is below ``threshold``, ranked by value at risk.

    value at risk = (CLV if still active) x P(already gone) = clv / p_alive x (1 - p_alive):
    what the customer would be worth if retained, weighted by the chance they are lost.
    """
    if not 0 < threshold < 1:
        raise ValueError("churn_threshold must be between 0 and 1")
    p = customers[p_alive_col].clip(lower=1e-12)
    value_if_active = customers[clv_col] / p
    out = customers.assign(
        value_if_active=value_if_active, value_at_risk=value_if_active * (1 - customers[p_alive_col])
    )
    out = out[out[p_alive_col] < threshold].sort_values("value_at_risk", ascending=False)
    return out


CHURN_FEATURES = ("frequency", "recency", "T", "monetary", "spend_calibration", "weeks_since_last", "recency_ratio")


def churn_features(summary: pd.DataFrame) -> pd.DataFrame:
    """Calibration-period features for the churn classifier (time in the summary's unit)."""
    f = summary[["frequency", "recency", "T", "monetary", "spend_calibration"]].astype(float).copy()
    f["weeks_since_last"] = f["T"] - f["recency"]
    f["recency_ratio"] = np.where(f["T"] > 0, f["recency"] / f["T"].where(f["T"] > 0, 1.0), 0.0)
    return f[list(CHURN_FEATURES)]


class ChurnClassifier:
    """Predicts "no purchase in the holdout" from calibration features (scikit-learn style).

    ``fit(summary)`` learns on all customers and also computes out-of-fold predictions
    (``cv_folds``-fold, stratified, seeded) so that ``auc_`` is an honest holdout ROC AUC, and
    compares it with a baseline score (``baseline_auc_``), e.g. 1 - P(alive) from BG/NBD.
    """

    def __init__(self, cv_folds: int = 5, seed: int = 0, max_iter: int = 100, learning_rate: float = 0.1):
        self.cv_folds = cv_folds
        self.seed = seed
        self.max_iter = max_iter
        self.learning_rate = learning_rate

    def _estimator(self):
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, random_state=self.seed, early_stopping=False
        )

    def fit(
        self, summary: pd.DataFrame, baseline_score: Sequence[float] | None = None, baseline_label: str = "baseline"
    ) -> ChurnClassifier:
        X = churn_features(summary)
        y = (summary["frequency_holdout"].to_numpy() == 0).astype(int)
        if y.min() == y.max():
            raise ValueError("Every customer has the same holdout outcome: there is nothing to classify.")
        self.churn_rate_ = float(y.mean())
        cv = StratifiedKFold(n_splits=self.cv_folds, shuffle=True, random_state=self.seed)
        self.oof_proba_ = cross_val_predict(self._estimator(), X, y, cv=cv, method="predict_proba")[:, 1]
        self.y_ = y
        self.baseline_score_ = None if baseline_score is None else np.asarray(baseline_score, dtype=float)
        self.baseline_label_ = baseline_label
        self.auc_ = float(roc_auc_score(y, self.oof_proba_))
        self.baseline_auc_ = float(roc_auc_score(y, np.asarray(baseline_score))) if baseline_score is not None else None
        self.model_ = self._estimator().fit(X, y)
        self.features_ = list(X.columns)
        return self

    def predict_proba(self, summary: pd.DataFrame) -> np.ndarray:
        """P(no purchase in a period as long as the holdout) per customer."""
        return self.model_.predict_proba(churn_features(summary))[:, 1]

    def _scores(self) -> dict[str, np.ndarray]:
        scores = {"classifier": self.oof_proba_}
        if self.baseline_score_ is not None:
            scores[self.baseline_label_] = self.baseline_score_
        return scores

    def aucs(self) -> dict[str, float]:
        """ROC AUC of the out-of-fold classifier and of the baseline, keyed by their labels."""
        return {
            "classifier": self.auc_,
            **({self.baseline_label_: self.baseline_auc_} if self.baseline_auc_ is not None else {}),
        }

    def roc_curves(self) -> dict[str, pd.DataFrame]:
        """ROC curves of the out-of-fold classifier scores and of the baseline score, keyed like ``aucs()``."""
        from sklearn.metrics import roc_curve

        out = {}
        for name, score in self._scores().items():
            fpr, tpr, _ = roc_curve(self.y_, score)
            out[name] = pd.DataFrame({"false_positive_rate": fpr, "true_positive_rate": tpr})
        return out
