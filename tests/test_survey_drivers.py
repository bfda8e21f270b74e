"""helpers.survey.drivers: relative weights and Shapley importance against independent computations
on data simulated with known generating weights; regression statistics against statsmodels;
importance-performance quadrants, action sentences and errors."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers.survey.drivers import KeyDriverAnalysis

DRIVERS = ["price", "speed", "staff", "app", "range"]
COEF = np.array([0.9, 0.6, 0.45, 0.3, 0.15])


def _simulate(n: int, seed: int, correlated: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if correlated:
        A = np.array(
            [
                [1.0, 0.5, 0.3, 0.2, 0.1],
                [0.0, 1.0, 0.4, 0.3, 0.2],
                [0.0, 0.0, 1.0, 0.5, 0.3],
                [0.0, 0.0, 0.0, 1.0, 0.4],
                [0.0, 0.0, 0.0, 0.0, 1.0],
            ]
        )
        X = rng.normal(size=(n, 5)) @ A
    else:
        X = rng.normal(size=(n, 5))
    y = 1.0 + X @ COEF + rng.normal(scale=1.0, size=n)
    frame = pd.DataFrame(X + np.array([5.8, 7.0, 7.4, 6.5, 7.6]), columns=DRIVERS)
    frame["satisfaction"] = y
    return frame


@pytest.fixture(scope="module")
def data():
    return _simulate(5000, seed=7)


@pytest.fixture(scope="module")
def model(data):
    return KeyDriverAnalysis("satisfaction", DRIVERS).fit(data)


def _r2_lstsq(X: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return 1.0 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


def _shapley_by_loop(frame: pd.DataFrame, outcome: str, drivers: list[str]) -> np.ndarray:
    """Slow and plain: an OLS fit on the raw rows for every subset, then the Shapley average."""
    X, y = frame[drivers].to_numpy(float), frame[outcome].to_numpy(float)
    p = len(drivers)
    r2 = {(): 0.0}
    for size in range(1, p + 1):
        for subset in itertools.combinations(range(p), size):
            r2[subset] = _r2_lstsq(X[:, subset], y)
    phi = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for size in range(p):
            w = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for subset in itertools.combinations(others, size):
                phi[j] += w * (r2[tuple(sorted((*subset, j)))] - r2[subset])
    return phi


def _relative_weights_by_procrustes(frame: pd.DataFrame, outcome: str, drivers: list[str]) -> np.ndarray:
    """Johnson's weights the other way round: Z = X (X'X)^(-1/2) from the SVD of the standardised
    drivers, outcome and drivers regressed on Z by least squares."""
    X = frame[drivers].to_numpy(float)
    y = frame[outcome].to_numpy(float)
    Xs = (X - X.mean(0)) / X.std(0)
    ys = (y - y.mean()) / y.std()
    U, _, Vt = np.linalg.svd(Xs, full_matrices=False)
    Z = U @ Vt * np.sqrt(len(y))  # orthogonal, variance-1 columns closest to Xs
    beta_z, *_ = np.linalg.lstsq(Z, ys, rcond=None)
    loadings, *_ = np.linalg.lstsq(Z, Xs, rcond=None)  # loadings[k, j]: driver j on Z_k
    return (loadings**2).T @ beta_z**2


# --- (a)-(c) importance against independent computations --------------------------------------
def test_shapley_matches_subset_by_subset_regressions(data, model):
    expected = _shapley_by_loop(data, "satisfaction", DRIVERS)
    np.testing.assert_allclose(model.shapley_.loc[DRIVERS].to_numpy(), expected, rtol=0, atol=1e-8)


def test_relative_weights_match_procrustes_route(data, model):
    expected = _relative_weights_by_procrustes(data, "satisfaction", DRIVERS)
    np.testing.assert_allclose(model.relative_weights_.loc[DRIVERS].to_numpy(), expected, rtol=0, atol=1e-8)


def test_both_decompositions_sum_to_r2(data, model):
    r2 = _r2_lstsq(data[DRIVERS].to_numpy(), data["satisfaction"].to_numpy())
    assert model.r2_ == pytest.approx(r2, abs=1e-10)
    assert model.relative_weights_.sum() == pytest.approx(r2, abs=1e-12)
    assert model.shapley_.sum() == pytest.approx(r2, abs=1e-12)
    imp = model.importance_
    assert imp["relative_weight_pct"].sum() == pytest.approx(100) and imp["shapley_pct"].sum() == pytest.approx(100)
    assert list(imp.columns) == [
        "driver",
        "relative_weight",
        "relative_weight_pct",
        "shapley",
        "shapley_pct",
        "beta",
        "mean",
        "rank",
    ]
    assert list(imp["rank"]) == [1, 2, 3, 4, 5] and imp["relative_weight"].is_monotonic_decreasing
    np.testing.assert_allclose(imp.set_index("driver").loc[DRIVERS, "mean"], data[DRIVERS].mean(), atol=1e-12)


# --- (d) uncorrelated drivers: relative weight = squared standardised coefficient ----------------
def test_uncorrelated_drivers_recover_generating_order_and_beta_squared():
    frame = _simulate(20_000, seed=11, correlated=False)
    m = KeyDriverAnalysis("satisfaction", DRIVERS).fit(frame)
    true_beta = COEF / np.sqrt(COEF @ COEF + 1.0)  # standardised: drivers' sd 1, outcome's sd sqrt(sum b^2 + 1)
    assert list(m.importance_["driver"]) == DRIVERS  # generating order
    assert list(m.shapley_.sort_values(ascending=False).index) == DRIVERS
    np.testing.assert_allclose(m.relative_weights_.loc[DRIVERS], true_beta**2, atol=0.01)
    np.testing.assert_allclose(m.shapley_.loc[DRIVERS], true_beta**2, atol=0.01)
    np.testing.assert_allclose(m.coefficients_["beta"], true_beta, atol=0.01)


# --- regression statistics against statsmodels -------------------------------------------------
def test_regression_statistics_match_statsmodels(data, model):
    ols = sm.OLS(data["satisfaction"], sm.add_constant(data[DRIVERS])).fit()
    coef = model.coefficients_.set_index("driver")
    np.testing.assert_allclose(coef["b"], ols.params[DRIVERS], rtol=1e-10)
    np.testing.assert_allclose(coef["se"], ols.bse[DRIVERS], rtol=1e-8)
    np.testing.assert_allclose(coef["t"], ols.tvalues[DRIVERS], rtol=1e-8)
    np.testing.assert_allclose(coef["p_value"], ols.pvalues[DRIVERS], rtol=1e-6, atol=1e-300)
    assert model.intercept_ == pytest.approx(ols.params["const"], rel=1e-10)
    attrs = model.summary().attrs
    assert attrs["r2"] == pytest.approx(ols.rsquared, rel=1e-10)
    assert attrs["adjusted_r2"] == pytest.approx(ols.rsquared_adj, rel=1e-10)
    assert attrs["F"] == pytest.approx(ols.fvalue, rel=1e-8)
    assert attrs["n"] == 5000 and attrs["n_dropped"] == 0
    assert {"p", "n_effective", "df_model", "df_resid", "outcome"} <= set(attrs)
    assert {"b", "p_value"} <= set(model.summary().columns)


# --- (e) weights ------------------------------------------------------------------------------
def test_weights_all_two_equal_unweighted(data, model):
    w = KeyDriverAnalysis("satisfaction", DRIVERS).fit(data, weights=np.full(len(data), 2.0))
    pd.testing.assert_frame_equal(w.coefficients_, model.coefficients_, atol=1e-10, rtol=0)
    pd.testing.assert_frame_equal(w.importance_, model.importance_, atol=1e-10, rtol=0)
    assert w.r2_ == pytest.approx(model.r2_, abs=1e-12)
    assert w.n_effective_ == pytest.approx(5000)


def test_unequal_weights_give_weighted_least_squares(data):
    rng = np.random.default_rng(5)
    wts = rng.uniform(0.2, 3.0, len(data))
    m = KeyDriverAnalysis("satisfaction", DRIVERS).fit(data, weights=wts)
    wls = sm.WLS(data["satisfaction"], sm.add_constant(data[DRIVERS]), weights=wts).fit()
    np.testing.assert_allclose(m.coefficients_["b"], wls.params[DRIVERS], rtol=1e-9)
    assert m.intercept_ == pytest.approx(wls.params["const"], rel=1e-9)
    assert m.r2_ == pytest.approx(wls.rsquared, rel=1e-9)
    assert m.n_effective_ == pytest.approx(wts.sum() ** 2 / (wts**2).sum())
    assert m.shapley_.sum() == pytest.approx(m.r2_) and m.relative_weights_.sum() == pytest.approx(m.r2_)


def test_missing_rows_are_dropped_and_counted(data, model):
    holes = data.copy()
    holes.loc[[3, 10, 11], "price"] = np.nan
    holes.loc[[11, 20], "satisfaction"] = np.nan
    m = KeyDriverAnalysis("satisfaction", DRIVERS).fit(holes)
    assert (m.n_, m.n_dropped_) == (4996, 4)
    ref = KeyDriverAnalysis("satisfaction", DRIVERS).fit(holes.dropna())
    np.testing.assert_allclose(m.shapley_, ref.shapley_, atol=1e-14)


# --- (f) importance-performance quadrants -----------------------------------------------------
def _hand_made() -> KeyDriverAnalysis:
    """An analysis whose importance table is set by hand: mean importance 25, mean performance 6.5."""
    m = KeyDriverAnalysis("satisfaction", ["a", "b", "c", "d"])
    m.importance_ = pd.DataFrame(
        {
            "driver": ["a", "b", "c", "d"],
            "relative_weight": [0.2, 0.15, 0.1, 0.05],
            "relative_weight_pct": [40.0, 30.0, 20.0, 10.0],
            "shapley": [0.2, 0.15, 0.1, 0.05],
            "shapley_pct": [40.0, 30.0, 20.0, 10.0],
            "beta": [0.4, 0.3, 0.2, 0.1],
            "mean": [5.0, 8.0, 4.0, 9.0],
            "rank": [1, 2, 3, 4],
        }
    )
    return m


def test_importance_performance_quadrants_on_hand_made_case():
    ipm = _hand_made().importance_performance()
    assert list(ipm.columns) == ["driver", "importance", "performance", "quadrant"]
    assert dict(zip(ipm["driver"], ipm["quadrant"])) == {
        "a": "Fix first",
        "b": "Keep it up",
        "c": "Low priority",
        "d": "Possible overkill",
    }
    assert ipm.attrs["mean_importance"] == pytest.approx(25) and ipm.attrs["mean_performance"] == pytest.approx(6.5)
    scaled = _hand_made().importance_performance(scale=(0, 10))
    assert list(scaled["performance"]) == pytest.approx([50, 80, 40, 90])
    assert list(scaled["quadrant"]) == list(ipm["quadrant"])
    scaled = _hand_made().importance_performance(scale=(1, 9))
    assert scaled["performance"].iloc[0] == pytest.approx(50.0)


def test_importance_performance_on_another_frame(model):
    other = pd.DataFrame({d: [9.0, 9.0] for d in DRIVERS}).assign(price=[1.0, 3.0], app=[5.0, np.nan])
    ipm = model.importance_performance(other).set_index("driver")
    assert ipm.loc["price", "performance"] == pytest.approx(2.0)
    assert ipm.loc["app", "performance"] == pytest.approx(5.0)
    assert ipm.loc["price", "quadrant"] == "Fix first"
    weighted = model.importance_performance(other, weights=[3.0, 1.0]).set_index("driver")
    assert weighted.loc["price", "performance"] == pytest.approx(1.5)


# --- (g) actions -------------------------------------------------------------------------------
def test_actions_name_the_driver_to_fix_first(model):
    imp = model.importance_.set_index("driver")
    assert model.importance_["driver"].iloc[0] == "price"  # most important, and rated lowest (5.8)
    sentences = model.actions(3, scale=(0, 10))
    assert len(sentences) == 3
    first = sentences[0]
    assert first.startswith("Improve **price** first:")
    pct = round(imp.loc["price", "relative_weight_pct"])
    assert f"explains {pct} % of the explained variation in satisfaction (relative weight)" in first
    assert f"scores {imp.loc['price', 'mean']:.1f} of 10, below the drivers' average {imp['mean'].mean():.1f}" in first
    named = [re.search(r"\*\*(\w+)\*\*", s).group(1) for s in sentences]
    ipm = model.importance_performance().set_index("driver")
    fix = [d for d in model.importance_["driver"] if ipm.loc[d, "quadrant"] == "Fix first"]
    rest = [d for d in model.importance_["driver"] if d not in fix]
    assert named == (fix + rest)[:3]
    assert len(model.actions(10)) == 5 and "of 10" not in model.actions(1)[0]


def test_actions_on_hand_made_case():
    sentences = _hand_made().actions(4)
    assert sentences[0].startswith("Improve **a** first: it explains 40 %")
    assert "scores 5.0, below the drivers' average 6.5" in sentences[0]
    assert sentences[1].startswith("Keep **b** where it is")
    assert sentences[2].startswith("Improve **c** later")
    assert sentences[3].startswith("Do not invest more in **d**")


# --- (h) errors -------------------------------------------------------------------------------
def test_errors_name_the_column_and_rule(data):
    with pytest.raises(ValueError, match=r"'loyalty' not in the data"):
        KeyDriverAnalysis("loyalty", DRIVERS).fit(data)
    with pytest.raises(ValueError, match=r"'colour' not in the data"):
        KeyDriverAnalysis("satisfaction", [*DRIVERS, "colour"]).fit(data)
    with pytest.raises(ValueError, match=r"at least 7 complete rows with a positive weight \(5 drivers \+ 2\); got 6"):
        KeyDriverAnalysis("satisfaction", DRIVERS).fit(data.head(6))
    KeyDriverAnalysis("satisfaction", DRIVERS).fit(data.head(7))  # the minimum is accepted
    with pytest.raises(ValueError, match=r"column 'speed' has the same value \(7\) in every row"):
        KeyDriverAnalysis("satisfaction", DRIVERS).fit(data.assign(speed=7.0))
    with pytest.raises(ValueError, match=r"perfectly collinear"):
        KeyDriverAnalysis("satisfaction", [*DRIVERS, "twice"]).fit(data.assign(twice=2 * data["price"] + 1))
    with pytest.raises(ValueError, match=r"'satisfaction' is also listed among the drivers"):
        KeyDriverAnalysis("satisfaction", [*DRIVERS, "satisfaction"]).fit(data)
    with pytest.raises(ValueError, match=r"column 'segment' must hold numbers"):
        KeyDriverAnalysis("satisfaction", [*DRIVERS, "segment"]).fit(data.assign(segment="a"))
    with pytest.raises(ValueError, match=r"2\^5 = 32 driver subsets; the limit is shapley_max_drivers=4"):
        KeyDriverAnalysis("satisfaction", DRIVERS, shapley_max_drivers=4).fit(data)
    with pytest.raises(ValueError, match=r"shapley_max_drivers must be a whole number from 1 to 24"):
        KeyDriverAnalysis("satisfaction", DRIVERS, shapley_max_drivers=40).fit(data)
    with pytest.raises(ValueError, match=r"not fitted yet"):
        KeyDriverAnalysis("satisfaction", DRIVERS).actions()
    with pytest.raises(ValueError, match=r"scale must be \(min, max\) with max > min"):
        _hand_made().importance_performance(scale=(10, 0))
