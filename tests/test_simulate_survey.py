"""helpers.survey.simulate: survey responses whose driver weights, group effects, reliability
and weights are recovered from the data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf

from helpers import synth


@pytest.fixture(scope="module")
def survey():
    return synth.generate("responses", 6_000, seed=12)


def test_responses_columns_scale_and_item_nonresponse(survey):
    f, tr = survey.frame, survey.truth
    lo, hi = tr["scale"]
    ratings = tr["drivers"] + ["overall_satisfaction"] + tr["scale_items"] + [f"importance_{d}" for d in tr["drivers"]]
    assert list(f.columns[:4]) == ["respondent_id", "region", "wave", "segment"]
    assert {"likelihood_to_recommend", "weight"} <= set(f.columns)
    vals = f[ratings].to_numpy()
    ok = ~np.isnan(vals)
    assert (vals[ok] == np.round(vals[ok])).all() and vals[ok].min() >= lo and vals[ok].max() <= hi
    ltr = f["likelihood_to_recommend"].dropna()
    assert ltr.between(0, 10).all() and (ltr == ltr.round()).all()
    cells = f[ratings + ["likelihood_to_recommend"]]
    share_missing = cells.isna().to_numpy().mean()
    assert abs(share_missing - tr["missing_rate"]) < 0.005
    assert tr["n_missing"] == cells.isna().to_numpy().sum()
    assert set(f["wave"]) == set(tr["waves"]) and f["respondent_id"].is_unique


def test_responses_ols_recovers_driver_weights_and_group_effects(survey):
    f, tr = survey.frame, survey.truth
    formula = "overall_satisfaction ~ " + " + ".join(tr["drivers"]) + " + C(wave) + C(segment) + C(region)"
    fit = smf.ols(formula, f).fit(cov_type="HC3")
    for d, w in tr["weights"].items():
        assert abs(fit.params[d] - w) < 4 * fit.bse[d], d
    q1, q2 = tr["waves"]
    wave_term = f"C(wave)[T.{q2}]"
    assert abs(fit.params[wave_term] - (tr["wave_effects"][q2] - tr["wave_effects"][q1])) < 4 * fit.bse[wave_term]
    seg = tr["segment_effects"]
    term = "C(segment)[T.Premium]"
    assert abs(fit.params[term] - (seg["Premium"] - seg["Budget"])) < 4 * fit.bse[term]
    assert tr["overall_clipped_share"] == 0.0


def test_responses_cronbach_alpha_matches_truth(survey):
    items = survey.frame[survey.truth["scale_items"]].dropna()
    k = items.shape[1]
    alpha = k / (k - 1) * (1 - items.var().sum() / items.sum(axis=1).var())
    assert abs(alpha - survey.truth["scale_alpha_rounded"]) < 0.02
    assert survey.truth["scale_alpha"] > survey.truth["scale_alpha_rounded"]


def test_responses_weights_restore_population_region_shares_and_mean(survey):
    f, tr = survey.frame, survey.truth
    weighted_shares = f.groupby("region")["weight"].sum() / f["weight"].sum()
    for region, share in tr["population_shares"].items():
        assert weighted_shares[region] == pytest.approx(share)
    assert f["weight"].mean() == pytest.approx(1.0)
    y = f["overall_satisfaction"]
    ok = y.notna()
    wmean = np.average(y[ok], weights=f.loc[ok, "weight"])
    se = y.std() / np.sqrt(ok.sum()) * 1.2  # design effect of the weights, roughly
    assert abs(wmean - tr["population_mean_overall"]) < 4 * se
    by_wave = f[ok].groupby("wave").apply(lambda g: np.average(g["overall_satisfaction"], weights=g["weight"]))
    q1, q2 = tr["waves"]
    assert abs((by_wave[q2] - by_wave[q1]) - (tr["mean_overall_by_wave"][q2] - tr["mean_overall_by_wave"][q1])) < 0.1


def test_responses_on_0_to_10_scale_without_missing_values():
    d = synth.generate("responses", 3_000, seed=2, scale=(0, 10), missing_rate=0.0, importance=False)
    f, tr = d.frame, d.truth
    assert not any(c.startswith("importance_") for c in f.columns)
    assert f.notna().all().all()
    assert f[tr["drivers"] + ["overall_satisfaction"]].stack().between(0, 10).all()
    assert tr["wave_effects"][tr["waves"][1]] == pytest.approx(0.75)  # 0.3 points of a 1-5 scale
    fit = smf.ols("overall_satisfaction ~ " + " + ".join(tr["drivers"]), f).fit(cov_type="HC3")
    for drv, w in tr["weights"].items():
        assert abs(fit.params[drv] - w) < 4 * fit.bse[drv], drv
