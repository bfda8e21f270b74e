"""The churn classifier's stratified sample and the AUC's standard error."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from helpers.clv import churn, narrative


def _summary(n: int, seed: int = 0) -> pd.DataFrame:
    """Calibration features where recent, frequent buyers are likelier to buy in the holdout."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(10, 60, n)
    recency = T * rng.beta(2, 1, n)
    frequency = rng.poisson(2 + recency / 10)
    monetary = rng.gamma(2, 20, n) * (frequency > 0)
    logit = -2 + 0.08 * frequency + 3 * recency / T
    buys = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": T,
            "monetary": monetary,
            "spend_calibration": monetary * frequency,
            "frequency_holdout": np.where(buys, rng.poisson(1.5, n) + 1, 0),
        }
    )


def test_auc_standard_error_by_hand():
    # Hanley & McNeil (1982): Q1 = A / (2 - A), Q2 = 2 A^2 / (1 + A),
    # var = (A (1 - A) + (P - 1)(Q1 - A^2) + (N - 1)(Q2 - A^2)) / (P N)
    assert churn.auc_standard_error(0.5, 1, 1) == pytest.approx(0.5)  # var = 0.25 / 1
    # A 0.8, P 10, N 20: Q1 2/3, Q2 32/45; var = (0.16 + 9 (2/3 - 0.64) + 19 (32/45 - 0.64)) / 200
    assert churn.auc_standard_error(0.8, 10, 20) == pytest.approx((1.7511111 / 200) ** 0.5, rel=1e-6)
    with pytest.raises(ValueError, match="at least one case"):
        churn.auc_standard_error(0.8, 0, 10)


def test_auc_standard_error_matches_the_spread_of_aucs_on_simulated_samples():
    rng = np.random.default_rng(3)
    aucs = []
    for _ in range(300):  # binormal scores, 150 positives and 250 negatives, true AUC about 0.76
        y = np.r_[np.ones(150), np.zeros(250)]
        aucs.append(roc_auc_score(y, np.r_[rng.normal(1.0, 1, 150), rng.normal(0.0, 1, 250)]))
    se = churn.auc_standard_error(float(np.mean(aucs)), 150, 250)
    assert np.std(aucs, ddof=1) == pytest.approx(se, rel=0.15)


def test_classifier_cross_validates_a_stratified_seeded_sample_when_there_are_more_customers():
    s = _summary(6000)
    y = (s["frequency_holdout"] == 0).to_numpy()
    baseline = s["T"] - s["recency"]  # weeks since the last purchase: a sensible ranking
    c = churn.ChurnClassifier(sample_size=1500, seed=4, max_iter=20).fit(s, baseline_score=baseline)
    assert c.sampled_ and c.n_used_ == 1500 == len(c.oof_proba_) and c.n_customers_ == 6000
    assert np.all(np.diff(c.rows_) > 0) and c.rows_.max() < 6000
    assert abs(c.y_.mean() - y.mean()) <= 1 / 1500  # stratified: the same share of non-buyers
    assert c.churn_rate_ == pytest.approx(y.mean())  # stated for the whole base
    # both AUCs are computed on the sampled customers
    assert c.baseline_auc_ == pytest.approx(roc_auc_score(y[c.rows_], baseline.to_numpy()[c.rows_]))
    again = churn.ChurnClassifier(sample_size=1500, seed=4, max_iter=20).fit(s, baseline_score=baseline)
    assert np.array_equal(again.rows_, c.rows_) and again.auc_ == c.auc_
    full = churn.ChurnClassifier(sample_size=None, seed=4, max_iter=20).fit(s, baseline_score=baseline)
    assert not full.sampled_ and full.rows_ is None and full.n_used_ == 6000
    # judged on the sample, a ranking's AUC estimates the whole base's within its stated precision
    assert abs(c.baseline_auc_ - full.baseline_auc_) < 3 * c.auc_standard_error()
    assert c.auc_ > 0.55 and full.auc_ > 0.6  # the classifier finds the planted signal either way


def test_stratified_sample_keeps_each_share_and_draws_every_position_alike():
    labels = np.repeat(np.array([0, 1, 2]), [700, 200, 100])  # shares 0.7 / 0.2 / 0.1
    rows = churn.stratified_sample(labels, 333, seed=5)
    assert len(rows) == 333 == len(np.unique(rows)) and np.all(np.diff(rows) > 0)
    # exact shares 233.1 / 66.6 / 33.3: floors 233 / 66 / 33, the one left over to the largest remainder
    assert np.bincount(labels[rows]).tolist() == [233, 67, 33]
    assert np.array_equal(rows, churn.stratified_sample(labels, 333, seed=5))
    assert not np.array_equal(rows, churn.stratified_sample(labels, 333, seed=6))
    # without replacement and uniform within a label: over 400 draws each position of label 2
    # is picked 400 x 33 / 100 = 132 times on average (binomial sd about 9.4)
    hits = np.zeros(1000)
    for seed in range(400):
        hits[churn.stratified_sample(labels, 333, seed=seed)] += 1
    assert abs(hits[900:].mean() - 132) < 1e-9 and hits[900:].min() > 132 - 5 * 9.4 and hits[900:].max() < 132 + 5 * 9.4


def test_no_sample_when_the_base_is_not_larger_than_the_sample_size():
    s = _summary(800, seed=1)
    c = churn.ChurnClassifier(sample_size=800, max_iter=10).fit(s)
    assert not c.sampled_ and c.n_used_ == 800
    with pytest.raises(ValueError, match="sample_size must be at least 10"):
        churn.ChurnClassifier(sample_size=5).fit(s)


def test_sample_sentence_states_the_sizes_and_precision():
    text = narrative.churn_sample(100_000, 3_308_413, 0.00151)
    assert "100,000 of them" in text and "3,308,413 customers" in text and "0.002" in text


def test_roc_curves_keep_at_most_the_points_a_chart_needs():
    s = _summary(3000, seed=2)
    c = churn.ChurnClassifier(sample_size=None, max_iter=10).fit(s, baseline_score=s["T"] - s["recency"])
    whole = c.roc_curves(max_points=10**9)
    thin = c.roc_curves(max_points=50)
    for name, curve in thin.items():
        assert 2 <= len(curve) <= 50 < len(whole[name])
        assert curve.iloc[0].tolist() == whole[name].iloc[0].tolist()  # both ends kept
        assert curve.iloc[-1].tolist() == [1.0, 1.0]
        assert curve["false_positive_rate"].is_monotonic_increasing
