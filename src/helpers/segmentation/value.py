"""Value tiers: Pareto/ABC tiers by revenue and by predicted CLV, and the concentration curve.

**ABC tiers.** Customers are sorted by value, highest first (ties by ``customer_id``, so the
order never depends on row order). Tier A holds the customers who together make the first
``shares[0]`` of the value (80 % by default), the customer who crosses the line included; tier B
the next ``shares[1]`` (15 %); tier C the rest. Customers with no value (zero or less) are
always C.

**Concentration curve.** Share of customers (most valuable first) against the share of value
they hold, with the Gini coefficient (0 = everyone worth the same, 1 = one customer holds all).

**Predicted CLV** comes from the CLV models (:mod:`helpers.clv`): BG/NBD (or the fallback the
CLV workflow uses) and Gamma-Gamma fitted on every purchase before the snapshot, weekly, CLV over
the next ``horizon_months`` months in revenue (margin 1). When no model can be fitted, the CLV
tiers are skipped and the reason is kept as a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.reporting.text import esc

TIERS = ("A", "B", "C")


def _value_order(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions sorted by value, highest first, ties by id."""
    return np.lexsort((ids.to_numpy(), -values.to_numpy(dtype=float)))


def abc_tiers(values: pd.Series, ids: pd.Series | None = None, shares: Sequence[float] = (0.8, 0.15)) -> pd.Series:
    """Tier A/B/C per customer (see the module doc); ``shares`` are the value shares of A and B.
    Without ``ids``, ties fall to the earlier row."""
    a, b = (float(s) for s in shares)
    if not (0 < a < 1 and b > 0 and a + b < 1):
        raise ValueError("tier shares must be positive and add up to less than 1, e.g. (0.8, 0.15)")
    v = pd.Series(values, copy=False).astype(float).clip(lower=0.0)
    x = v.to_numpy()
    codes = np.full(len(v), 2, dtype=np.int8)  # positions in TIERS: C unless placed higher
    sorted_v = np.sort(x)[::-1]  # the values only: who holds them is settled below
    total = sorted_v.sum()
    if total > 0:
        before = (np.cumsum(sorted_v) - sorted_v) / total  # value share of the customers ranked above
        tier_sorted = np.where(before < a - 1e-12, 0, np.where(before < a + b - 1e-12, 1, 2))
        tier_sorted[sorted_v <= 0] = 2  # tiers never rise down the ranking: A holds the first n_A ranks
        if ids is None:
            for tier in (1, 0):  # A and B together hold the first n ranks; then A alone
                _place(codes, x, sorted_v, int((tier_sorted <= tier).sum()), tier)
        else:
            order = _value_order(v, ids)
            codes[order] = tier_sorted
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(TIERS), ordered=True), index=v.index)


def _place(codes: np.ndarray, x: np.ndarray, sorted_v: np.ndarray, n: int, tier: int) -> None:
    """Give ``tier`` to the ``n`` highest values of ``x`` (``sorted_v``: ``x`` sorted, highest
    first), ties at the boundary value to the earliest rows: everyone above the ``n``-th value,
    then as many of those equal to it as are left, in row order. The result of a stable sort by
    value, without sorting millions of positions."""
    if n <= 0:
        return
    line = sorted_v[n - 1]
    above = x > line
    at = np.flatnonzero(x == line)[: n - int(above.sum())]
    codes[above] = tier
    codes[at] = tier


def tier_summary(frame: pd.DataFrame, tier_col: str, value_col: str) -> pd.DataFrame:
    """Customers, value and their shares per tier (A, B, C)."""
    g = frame.groupby(tier_col, observed=False)[value_col]
    t = pd.DataFrame({"customers": g.size(), "value": g.sum()}).reindex(list(TIERS)).fillna(0)
    t["customers"] = t["customers"].astype(np.int64)
    t["share_of_customers_pct"] = 100 * t["customers"] / max(int(t["customers"].sum()), 1)
    total = t["value"].sum()
    t["share_of_value_pct"] = 100 * t["value"] / total if total > 0 else 0.0
    t.index.name = "tier"
    return t.reset_index()


@dataclass
class Concentration:
    """The concentration curve (``curve``: share_of_customers_pct, share_of_value_pct), the Gini
    coefficient and the share of customers that holds ``pareto_value_share`` of the value."""

    curve: pd.DataFrame
    gini: float
    pareto_value_share: float
    pareto_customer_share: float


def concentration(values: pd.Series, pareto_value_share: float = 0.8, points: int = 201) -> Concentration:
    """The concentration of ``values`` (negative values count as zero); see the module doc."""
    v = np.sort(np.clip(np.asarray(values, dtype=float), 0.0, None))[::-1]
    n, total = v.size, v.sum()
    if n == 0 or total <= 0:
        raise ValueError("no customer has any value: there is no concentration to show")
    cum_value = np.concatenate([[0.0], np.cumsum(v) / total])
    cum_cust = np.arange(n + 1) / n
    grid = np.linspace(0.0, 1.0, points)
    curve = pd.DataFrame(
        {"share_of_customers_pct": 100 * grid, "share_of_value_pct": 100 * np.interp(grid, cum_cust, cum_value)}
    )
    area = np.trapezoid(cum_value, cum_cust)  # area under the (descending) curve, 0.5 when equal
    gini = float(2 * area - 1)
    needed = int(np.searchsorted(cum_value, pareto_value_share - 1e-12, side="left"))
    return Concentration(curve, gini, float(pareto_value_share), needed / n)


@dataclass
class PredictedCLV:
    """CLV per customer (``clv``: customer_id, predicted_clv), or why there is none (``reason``,
    Markdown with the error's text escaped)."""

    clv: pd.DataFrame | None
    reason: str
    model: str
    horizon_months: int

    @property
    def available(self) -> bool:
        return self.clv is not None


def predicted_clv(
    table,
    as_of: pd.Timestamp,
    horizon_months: int = 12,
    customer_col="customer_id",
    date_col="date",
    amount_col="amount",
    days=None,
    checks: pd.Series | None = None,
    rfm: pd.DataFrame | None = None,
) -> PredictedCLV:
    """Predicted CLV per customer from the purchases before ``as_of`` (see the module doc).

    ``days``: the log's purchase days (:func:`helpers.clv.data.purchase_days_expr`), when already
    materialised, with ``checks`` (the log's counts, as :func:`helpers.clv.data.transaction_checks`
    or the snapshot's :func:`~helpers.segmentation.data.snapshot_checks` give them; computed when
    None): the summary is then aggregated from them (the same numbers; the counts only label the
    summary, which this function does not return). ``rfm``: the RFM table at ``as_of`` with each
    customer's ``first_spend`` (:func:`~helpers.segmentation.data.rfm_tables` with
    ``first_spend=True``): the summary is then computed from it, with no pass over the log at all
    (:func:`helpers.clv.data.summary_from_totals`)."""
    from helpers.clv.data import customer_summary, summary_from_totals, transaction_checks
    from helpers.clv.models import MODEL_LABELS, ModelFitError, fit_transaction_model
    from helpers.clv.models._inputs import remember_rows
    from helpers.clv.value import customer_lifetime_value
    from helpers.clv.workflow import fit_spend_model

    cal = pd.Timestamp(as_of) - pd.Timedelta(days=1)
    cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    try:
        if rfm is not None:
            s = summary_from_totals(rfm, cal, "W")
        elif days is None:
            s = customer_summary(table, cal, None, "W", **cols).summary
        else:
            if checks is None:
                checks = transaction_checks(table, **cols)
            s = customer_summary(days, cal, None, "W", checks=checks, days=True).summary
        if (s["frequency"] > 0).sum() < 10:
            raise ModelFitError("fewer than 10 customers bought more than once, too few to fit the CLV models.")
        with remember_rows():  # the fit and twelve months of CLV collapse the same customers
            fit = fit_transaction_model(s["frequency"], s["recency"], s["T"], "bgnbd")
            spend = fit_spend_model(s)
            clv = customer_lifetime_value(
                fit.model,
                spend,
                s["frequency"],
                s["recency"],
                s["T"],
                s["monetary"],
                horizon_months=horizon_months,
                discount_rate=0.10,
                margin=1.0,
                time_unit="W",
            )
    except (ModelFitError, ValueError) as exc:
        return PredictedCLV(None, f"The CLV models could not be fitted, so there are no CLV tiers: {esc(exc)}", "", 0)
    note = (
        "" if not fit.fell_back else f" ({MODEL_LABELS[fit.used]} was used: {MODEL_LABELS[fit.requested]} did not fit.)"
    )
    out = pd.DataFrame({"customer_id": s["customer_id"].array, "predicted_clv": np.asarray(clv, dtype=float)})
    return PredictedCLV(out, note.strip(), MODEL_LABELS[fit.used], horizon_months)
