"""What customers are worth: CLV from a transaction model and the Gamma-Gamma spend model, the
check of the Gamma-Gamma independence assumption, and value tiers."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.units import days_per_unit

from .models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from .models._inputs import (
    _all_scalar,
    _check_lengths,
    _first_index,
    _to_float_array,
    _unique_rows,
    _validate_rfm,
    _wrap,
)

__all__ = [
    "IndependenceCheck",
    "customer_lifetime_value",
    "gamma_gamma_independence",
    "tier_table",
    "value_tiers",
]


def customer_lifetime_value(
    transaction_model: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    time_unit: str = "W",
) -> Any:
    """Discounted expected margin per customer over the next ``horizon_months`` months.

    CLV = sum_{m=1..H} [E[Y(t_m)] - E[Y(t_{m-1})]] * E[spend] * margin / (1 + discount_rate)^(m/12)

    * E[Y(t)] is the transaction model's conditional expected number of purchases in the next t
      time units; t_m is the end of month m, with 1 month = 365.25/12 days (4.348 weeks), converted
      to ``time_unit``.
    * E[spend] is the Gamma-Gamma conditional expected average transaction value.
    * ``margin`` is the fraction of spend kept as profit; the default 1.0 means the result is
      discounted expected *revenue* (100% of spend). Pass e.g. 0.3 for a 30% margin.
    * ``discount_rate`` is annual; cash flows are counted at the end of each month and discounted
      monthly at (1 + discount_rate)^(m/12).

    ``time_unit`` is the unit of recency/T used to fit the transaction model: 'W' (weeks), 'D'
    (days), 'M' (months of 365.25/12 days) or 'Y' (years of 365.25 days). Returns an array (or a
    Series aligned with the inputs if any input is a Series), in the currency of ``monetary``.
    """
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError("horizon_months must be a whole number >= 1")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError("discount_rate must be a finite number > -1 (annual rate, e.g. 0.10)")
    if not np.isfinite(margin):
        raise ValueError("margin must be finite")
    month = days_per_unit("M") / days_per_unit(time_unit)
    x, tx, TT = _validate_rfm(frequency, recency, T)
    spend = np.asarray(spend_model.expected_spend(x, _to_float_array("monetary", monetary)), dtype=float)
    # the discounted purchases depend on (x, t_x, T) only: evaluate each distinct customer once
    (ux, utx, uT), inv = _unique_rows(x, tx, TT)
    total = np.zeros(ux.size)
    prev = np.zeros(ux.size)
    for m in range(1, int(horizon_months) + 1):
        cum = np.asarray(transaction_model.expected_purchases(m * month, ux, utx, uT), dtype=float)
        total += (cum - prev) / (1.0 + discount_rate) ** (m / 12.0)
        prev = cum
    clv = total[inv] * spend * margin
    return _wrap(
        clv, _first_index(frequency, recency, T, monetary), _all_scalar(frequency, recency, T, monetary), "clv"
    )


@dataclass(frozen=True)
class IndependenceCheck:
    """Result of :func:`gamma_gamma_independence`."""

    correlation: float
    n_repeat_buyers: int
    threshold: float
    independent: bool
    message: str

    def __bool__(self) -> bool:
        return self.independent


def gamma_gamma_independence(
    frequency: Any, monetary: Any, threshold: float = 0.3, warn: bool = True
) -> IndependenceCheck:
    """Check the Gamma-Gamma assumption that spend does not depend on purchase frequency.

    Computes the Pearson correlation of frequency and monetary among repeat buyers (frequency
    > 0). The assumption is flagged as doubtful when |correlation| > ``threshold`` (default 0.3,
    a common rule of thumb for a weak correlation); then a ``UserWarning`` is issued (if ``warn``)
    and ``independent`` is False. The message explains the result in plain words.
    """
    x = _to_float_array("frequency", frequency)
    m = _to_float_array("monetary", monetary)
    _check_lengths(frequency=x, monetary=m)
    ok = np.isfinite(x) & np.isfinite(m) & (x > 0)
    n = int(ok.sum())
    xs, ms = x[ok], m[ok]
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ms) == 0:
        return IndependenceCheck(
            float("nan"),
            n,
            threshold,
            True,
            f"Cannot assess frequency-spend correlation: {n} repeat buyers, or no variation in frequency or spend.",
        )
    corr = float(np.corrcoef(xs, ms)[0, 1])
    independent = abs(corr) <= threshold
    if independent:
        msg = (
            f"Correlation of frequency and average spend among {n} repeat buyers is {corr:.3f} "
            f"(|r| <= {threshold}): consistent with the Gamma-Gamma independence assumption."
        )
    else:
        msg = (
            f"Correlation of frequency and average spend among {n} repeat buyers is {corr:.3f} "
            f"(|r| > {threshold}): spend depends on purchase frequency, which the Gamma-Gamma "
            "model assumes away; its spend predictions (and CLV) may be biased. Consider "
            "segmenting customers or a model that links spend and frequency."
        )
        if warn:
            warnings.warn(msg, UserWarning, stacklevel=2)
    return IndependenceCheck(corr, n, threshold, independent, msg)


def value_tiers(
    clv: pd.Series,
    shares: Sequence[float] = (0.2, 0.3),
    labels: Sequence[str] = ("top", "middle", "rest"),
    order: np.ndarray | None = None,
) -> pd.Series:
    """Tier per customer by predicted CLV: the top ``shares[0]`` of customers, the next
    ``shares[1]``, and the rest (default 20 % / 30 % / 50 %). Ties share a tier by rank order.
    ``order``: :func:`descending_order` of ``clv`` when the caller has it already."""
    if len(labels) != len(shares) + 1:
        raise ValueError("labels must have one more entry than shares")
    if any(s <= 0 for s in shares) or sum(shares) >= 1:
        raise ValueError("shares must be positive and add up to less than 1")
    values = np.asarray(clv, dtype=float)
    rank = np.empty(values.size)
    rank[descending_order(values) if order is None else order] = np.arange(
        1, values.size + 1
    )  # ties ranked in order of appearance
    inner = np.cumsum(shares)  # tier i holds ranks / n in (edge i, edge i+1], the first from 0
    codes = np.searchsorted(inner, rank / max(values.size, 1), side="left")
    dtype = pd.CategoricalDtype(list(labels), ordered=True)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=getattr(clv, "index", None), name=None)


def descending_order(values) -> np.ndarray:
    """Positions that sort ``values`` from largest to smallest, ties in their order of appearance
    (a stable sort: the same order on every engine and run)."""
    return np.argsort(-np.asarray(values, dtype=float), kind="stable")


def tier_table(customers: pd.DataFrame, tier_col: str = "value_tier", clv_col: str = "clv") -> pd.DataFrame:
    """Customers, total and share of predicted value per tier."""
    t = customers.groupby(tier_col, observed=True)[clv_col].agg(customers="size", total_clv="sum", mean_clv="mean")
    t["share_of_value_pct"] = 100 * t["total_clv"] / t["total_clv"].sum()
    return t.reset_index()
