"""CLV, the Gamma-Gamma independence check and value tiers (helpers.clv.value), on the published
CDNOW summary: discounting, margin and time units applied as documented."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.clv import (
    BetaGeoModel,
    IndependenceCheck,
    customer_lifetime_value,
    gamma_gamma_independence,
)
from helpers.clv.value import value_tiers

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow"
WEEKS_PER_MONTH = 365.25 / 12 / 7


def test_clv_with_no_discount_equals_expected_purchases_times_spend(bg, gg, cdnow_summary):
    sub = cdnow_summary.iloc[:200]
    clv = customer_lifetime_value(
        bg, gg, sub["x"], sub["t_x"], sub["T"], sub["zbar"], horizon_months=12, discount_rate=0.0
    )
    expected = bg.expected_purchases(12 * WEEKS_PER_MONTH, sub["x"], sub["t_x"], sub["T"]) * gg.expected_spend(
        sub["x"], sub["zbar"]
    )
    np.testing.assert_allclose(clv.to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_clv_one_month_discounting_and_margin_are_applied_as_documented(bg, gg):
    args = (3, 30.0, 38.0, 25.0)
    base = customer_lifetime_value(bg, gg, *args, horizon_months=1, discount_rate=0.10)
    by_hand = bg.expected_purchases(WEEKS_PER_MONTH, 3, 30.0, 38.0) * gg.expected_spend(3, 25.0) / 1.10 ** (1 / 12)
    assert base == pytest.approx(by_hand, rel=1e-12)
    assert customer_lifetime_value(bg, gg, *args, margin=0.3) == pytest.approx(
        0.3 * customer_lifetime_value(bg, gg, *args)
    )
    assert customer_lifetime_value(bg, gg, *args, discount_rate=0.10) < customer_lifetime_value(
        bg, gg, *args, discount_rate=0.0
    )


def test_clv_works_with_pareto_nbd_and_returns_positive_finite_values(pnbd, gg, cdnow_summary):
    sub = cdnow_summary.iloc[:300]
    clv = customer_lifetime_value(pnbd, gg, sub["x"], sub["t_x"], sub["T"], sub["zbar"], horizon_months=24)
    assert isinstance(clv, pd.Series) and clv.index.equals(sub.index)
    assert np.all(np.isfinite(clv)) and np.all(clv > 0)
    # more past purchases and recent activity -> more value
    assert customer_lifetime_value(pnbd, gg, 10, 38.0, 38.86, 30.0) > customer_lifetime_value(
        pnbd, gg, 1, 5.0, 38.86, 30.0
    )


def test_clv_is_the_same_when_the_model_is_fitted_in_days(cdnow_summary, bg, gg):
    days = BetaGeoModel().fit(cdnow_summary["x"], cdnow_summary["t_x"] * 7, cdnow_summary["T"] * 7)
    assert days.params_["alpha"] == pytest.approx(7 * bg.params_["alpha"], rel=1e-6)
    sub = cdnow_summary.iloc[:100]
    weeks_clv = customer_lifetime_value(bg, gg, sub["x"], sub["t_x"], sub["T"], sub["zbar"], time_unit="W")
    days_clv = customer_lifetime_value(days, gg, sub["x"], sub["t_x"] * 7, sub["T"] * 7, sub["zbar"], time_unit="D")
    np.testing.assert_allclose(days_clv.to_numpy(), weeks_clv.to_numpy(), rtol=1e-5)


def test_gamma_gamma_independence_passes_on_cdnow_and_warns_on_correlated_spend(cdnow_summary):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = gamma_gamma_independence(cdnow_summary["x"], cdnow_summary["zbar"])
    assert isinstance(check, IndependenceCheck) and check.independent
    assert check.n_repeat_buyers == 946 and abs(check.correlation) < 0.3
    rep = cdnow_summary[cdnow_summary["x"] > 0]
    assert check.correlation == pytest.approx(np.corrcoef(rep["x"], rep["zbar"])[0, 1])
    x = np.arange(1, 101)
    with pytest.warns(UserWarning, match="depends on purchase frequency"):
        bad = gamma_gamma_independence(x, 10.0 + 2.0 * x)
    assert not bad.independent and bad.correlation > 0.99 and "0.3" in bad.message


def test_value_tiers_respect_configured_shares():
    clv = pd.Series(np.arange(100, dtype=float))
    tiers = value_tiers(clv, (0.1, 0.4))
    assert tiers.value_counts().to_dict() == {"top": 10, "middle": 40, "rest": 50}
    assert set(tiers[clv >= 90]) == {"top"}
    with pytest.raises(ValueError):
        value_tiers(clv, (0.6, 0.5))


def test_value_tiers_break_ties_by_order_of_appearance_as_pandas_rank_first_and_cut():
    """The numpy tiering equals ``rank(method="first")`` cut at the cumulative shares, ties and
    shares that fall between customers included (7 customers, 30 % / 30 %)."""
    rng = np.random.default_rng(2)
    for n, shares in ((7, (0.3, 0.3)), (1000, (0.2, 0.3)), (999, (0.25, 0.5))):
        clv = pd.Series(rng.integers(0, 5, n).astype(float), index=rng.permutation(n) + 100)
        rank = clv.rank(ascending=False, method="first") / n
        expected = pd.cut(
            rank, bins=np.cumsum([0.0, *shares, 1.0]), labels=["top", "middle", "rest"], include_lowest=True
        )
        got = value_tiers(clv, shares)
        assert got.index.equals(clv.index) and got.dtype == pd.CategoricalDtype(["top", "middle", "rest"], ordered=True)
        assert got.astype(str).tolist() == expected.astype(str).tolist()
