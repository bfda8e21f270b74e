"""MarketingMixModel: recovery of simulated and published truth (adstock, saturation, ROAS,
synergy), the bookkeeping (contributions, holdout MAPE, responses), notes on degenerate fits and
errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.channels import mmm_bootstrap, mmm_fit
from helpers.channels import transforms as T
from helpers.channels.mmm import MarketingMixModel
from helpers.channels.simulate import generate_spend

CHANNELS = ["tv", "search", "social", "display"]
DATA = Path(__file__).resolve().parents[1] / "data" / "channels"


def simulate(n=156, seed=0, adstock="geometric", saturation="hill", ad=(0.5, 0.2, 0.3),
             sat=((0.2, 2.0), (0.15, 1.2), (0.35, 3.0)), betas=(300.0, 200.0, 150.0), gamma=0.0, noise=20.0):  # fmt: skip
    """Weekly sales = 1000 + 2 t + yearly season + sum_c beta_c m_c + gamma m_0 m_1 + N(0, noise), with
    m_c = saturation(adstock(spend_c / max spend_c)) from helpers.channels.transforms (the model's
    units); spend lognormal with 20 % dark weeks (means about 1000, 500, 200, 300)."""
    rng = np.random.default_rng(seed)
    K = len(betas)
    scale = np.array([1000.0, 500.0, 200.0, 300.0][:K])
    S = np.round(rng.lognormal(0.0, 0.6, (n, K)) * (rng.random((n, K)) > 0.2) * scale, 2)
    t = np.arange(n)
    u = t * 7 / 365.25
    y = 1000.0 + 2.0 * t + 80.0 * np.sin(2 * np.pi * u) + 30.0 * np.cos(2 * np.pi * u)
    M = np.empty((n, K))
    for c in range(K):
        x = S[:, c] / S[:, c].max()
        a = T.geometric_adstock(x, ad[c], 8) if adstock == "geometric" else T.weibull_adstock(x, *ad[c], 8)
        M[:, c] = T.hill_saturation(a, *sat[c]) if saturation == "hill" else T.logistic_saturation(a, sat[c])
    y = y + M @ np.asarray(betas) + gamma * M[:, 0] * M[:, 1] + rng.normal(0.0, noise, n)
    frame = pd.DataFrame({"week": pd.date_range("2021-01-04", periods=n, freq="7D"), "sales": y})
    for c in range(K):
        frame[f"ch{c}"] = S[:, c]
    return frame


LOGISTIC = (5.0, 8.0, 3.0)  # lam per largest weekly spend


def fit_spend(seed, noise_sd=4000.0, bootstrap=40, **kw):
    data = generate_spend(156, seed=seed, noise_sd=noise_sd)
    model = MarketingMixModel(saturation="logistic", bootstrap=bootstrap, seed=0, **kw)
    return data, model.fit(data.frame, "date", "revenue", CHANNELS)


def true_lam(data, model, c):
    """The simulator's lam is per max(adstock) (with the true alpha); ours per largest weekly spend."""
    tr = data.truth["channels"][c]
    return tr["lam"] * model.spend_scale_[c] / tr["adstock_max"]


@pytest.fixture(scope="module")
def low_noise():
    return fit_spend(1, noise_sd=1000.0)


@pytest.fixture(scope="module")
def pymc_example():
    d = pd.read_csv(DATA / "pymc_mmm_example.csv")
    m = MarketingMixModel(saturation="logistic", bootstrap=40, seed=0)
    return m.fit(d, "date_week", "y", ["x1", "x2"], ["event_1", "event_2"])


# --- recovery: helpers.channels.simulate.generate_spend --------------------------------------
# Tolerances come from seeds 0-11 of generate_spend(156, noise_sd=1000) (R² about 0.99), the largest
# error seen per channel plus a margin: tv (flights, the largest budget) is pinned down, social
# (spend grows with the trend), search (follows the season) and display (the smallest effect) less.
ALPHA_TOL = {"tv": 0.06, "search": 0.1, "social": 0.25, "display": 0.15}  # seen 0.026 0.053 0.195 0.105
LAM_FACTOR = 2.0  # estimated / true lam within [1/2, 2]: seen 0.63 to 1.62
# (seen with the posterior-mean point estimate; the mode's were .07 .34 .26 .28 and 0.07)
ROAS_TOL = {"tv": 0.12, "search": 0.4, "social": 0.35, "display": 0.35}  # relative; seen .07 .33 .27 .29
SHARE_TOL = 0.09  # absolute, share of the media effect; seen 0.07


def test_generate_spend_recovers_adstock_and_saturation(low_noise):
    data, m = low_noise
    tp = m.transform_params_
    for c in CHANNELS:
        assert abs(tp.loc[c, "alpha"] - data.truth["channels"][c]["alpha"]) <= ALPHA_TOL[c], c
        ratio = tp.loc[c, "lam"] / true_lam(data, m, c)
        assert 1 / LAM_FACTOR <= ratio <= LAM_FACTOR, (c, ratio)


def test_generate_spend_recovers_roas_and_contribution_shares(low_noise):
    data, m = low_noise
    tr = data.truth["channels"]
    total = sum(tr[c]["total_contribution"] for c in CHANNELS)
    for c in CHANNELS:
        assert m.roas_.loc[c, "roas"] == pytest.approx(tr[c]["roas"], rel=ROAS_TOL[c]), c
        assert abs(m.roas_.loc[c, "share_of_effect"] - tr[c]["total_contribution"] / total) <= SHARE_TOL, c
        assert m.roas_.loc[c, "spend"] == pytest.approx(tr[c]["total_spend"])


def test_generate_spend_truth_inside_most_bootstrap_intervals(low_noise):
    # 90 % percentile intervals refitted from the estimate cover less than 90 %: over seeds 0-11 they
    # held 6-12 of these 12 truths (79 % overall); we require 8 (this seed: 9)
    data, m = low_noise
    tp, ro, tr = m.transform_params_, m.roas_, data.truth["channels"]
    inside = []
    for c in CHANNELS:
        lam = true_lam(data, m, c)
        inside += [tp.loc[c, "alpha_low"] <= tr[c]["alpha"] <= tp.loc[c, "alpha_high"]]
        inside += [tp.loc[c, "lam_low"] <= lam <= tp.loc[c, "lam_high"]]
        inside += [ro.loc[c, "roas_low"] <= tr[c]["roas"] <= ro.loc[c, "roas_high"]]
    assert sum(inside) >= 8, inside
    assert (tp["alpha_low"] <= tp["alpha"]).all() and (tp["alpha"] <= tp["alpha_high"]).all()


def test_generate_spend_default_noise_roas_of_the_largest_channel_and_interval_coverage():
    # at the simulator's default noise (SD 4000, R² about 0.9) only tv's ROAS is reliable: over seeds
    # 0-11 its error was at most 0.28 and 2-4 of the 4 ROAS intervals held the truth (83 % overall)
    data, m = fit_spend(1)
    tr = data.truth["channels"]
    assert m.roas_.loc["tv", "roas"] == pytest.approx(tr["tv"]["roas"], rel=0.35)
    inside = [m.roas_.loc[c, "roas_low"] <= tr[c]["roas"] <= m.roas_.loc[c, "roas_high"] for c in CHANNELS]
    assert sum(inside) >= 2
    assert 0.85 <= m.r2_ <= 0.95


# --- recovery: pymc-marketing's example data (truth in data/README.md) ------------------------


def test_pymc_example_recovers_alpha_lambda_and_betas_in_the_data_units(pymc_example):
    tp = pymc_example.transform_params_
    np.testing.assert_allclose(tp["alpha"], [0.4, 0.2], atol=0.05)
    lam_data = tp["lam"] / tp["spend_scale"]  # x1, x2 are the spend itself (already max-scaled)
    np.testing.assert_allclose(lam_data, [4.0, 3.0], rtol=0.2)
    np.testing.assert_allclose(tp["coefficient"], [3000.0, 2000.0], rtol=0.05)
    for par, truth in (("alpha", [0.4, 0.2]), ("lam", [4.0, 3.0])):
        scale = 1.0 if par == "alpha" else tp["spend_scale"].to_numpy()
        assert (tp[f"{par}_low"] / scale <= truth).all() and (truth <= tp[f"{par}_high"] / scale).all(), par


def test_pymc_example_matches_the_verified_fit(pymc_example):
    # data/README.md's source: OLS at the true transforms gives R² 0.95, events about 2.0k and 2.7k
    co = pymc_example.coefficients_
    assert pymc_example.r2_ == pytest.approx(0.95, abs=0.01)
    assert co.loc["event_1", "estimate"] == pytest.approx(2000.0, rel=0.1)
    assert co.loc["event_2", "estimate"] == pytest.approx(2700.0, rel=0.1)
    assert list(co.columns[:6]) == ["estimate", "std_err", "t", "p_value", "ci_low", "ci_high"]
    assert (co.loc[["x1", "x2"], "p_value"] < 1e-10).all()


# --- recovery: other transforms, synergy ------------------------------------------------------


def test_hill_saturation_recovered_on_hill_data():
    # seeds 0-7: |alpha error| <= 0.084; half within 16 % (ch0), 85 % (ch1, the weakest), 40 % (ch2);
    # slope within 35 %
    f = simulate(seed=1)
    tp = MarketingMixModel(saturation="hill", bootstrap=0, holdout_weeks=0).fit(f, "week", "sales",
                                                                                ["ch0", "ch1", "ch2"]).transform_params_  # fmt: skip
    np.testing.assert_allclose(tp["alpha"], [0.5, 0.2, 0.3], atol=0.1)
    rel_half = np.abs(tp["half"].to_numpy() / [0.2, 0.15, 0.35] - 1)
    assert (rel_half <= [0.25, 1.0, 0.5]).all(), rel_half
    np.testing.assert_allclose(tp["slope"], [2.0, 1.2, 3.0], rtol=0.5)


def test_weibull_adstock_recovered_roughly():
    # seeds 0-7: the lag weights within 0.091 of the truth, shape within 30 %, scale within 0.049
    ad = [(2.0, 0.3), (1.0, 0.1), (3.0, 0.5)]
    f = simulate(seed=2, adstock="weibull", saturation="logistic", ad=ad, sat=LOGISTIC)
    m = MarketingMixModel(adstock="weibull", saturation="logistic", bootstrap=0, holdout_weeks=0)
    tp = m.fit(f, "week", "sales", ["ch0", "ch1", "ch2"]).transform_params_
    for i, c in enumerate(["ch0", "ch1", "ch2"]):
        w = T.weibull_weights(tp.loc[c, "shape"], tp.loc[c, "scale"])
        assert np.abs(w - T.weibull_weights(*ad[i])).max() <= 0.12, c
    np.testing.assert_allclose(tp["shape"], [2.0, 1.0, 3.0], rtol=0.4)
    np.testing.assert_allclose(tp["scale"], [0.3, 0.1, 0.5], atol=0.08)


@pytest.mark.parametrize("gamma", [200.0, -200.0])
def test_synergy_sign_and_size_recovered(gamma):
    # seeds 0-7: +200 estimated 187 to 297, -200 estimated -93 to -253, intervals never crossing 0
    f = simulate(seed=3, saturation="logistic", sat=LOGISTIC, gamma=gamma)
    m = MarketingMixModel(saturation="logistic", bootstrap=30, holdout_weeks=0, synergy=(["ch0"], ["ch1"]))
    m.fit(f, "week", "sales", ["ch0", "ch1", "ch2"])
    row = m.coefficients_.loc["synergy"]
    assert row["estimate"] == pytest.approx(gamma, rel=0.65)
    assert np.sign(row["boot_low"]) == np.sign(row["boot_high"]) == np.sign(gamma)
    c = m.contributions_
    np.testing.assert_allclose(c.drop(columns="date").sum(axis=1), f["sales"], rtol=1e-12)
    hist = m.roas_["spend"].to_numpy()
    expected = m.channel_response(hist).sum() + c["synergy"].sum()
    assert m.expected_response(hist) == pytest.approx(expected, rel=1e-10)


def test_no_synergy_means_no_synergy_column(low_noise):
    _, m = low_noise
    assert "synergy" not in m.contributions_.columns and "synergy" not in m.coefficients_.index
    hist = m.roas_["spend"].to_numpy()
    assert m.expected_response(hist) == pytest.approx(m.channel_response(hist).sum())


# --- point estimate: posterior mean ---------------------------------------------------------


def test_posterior_mean_matches_numerical_integration():
    # one channel, two transform parameters (alpha, log lam): the importance-sampling posterior mean
    # of the channel's contribution agrees with brute-force integration of the same posterior over
    # a grid (0.4 % apart), which the mode misses by 3 %
    rng = np.random.default_rng(7)
    n = 104
    x = rng.lognormal(0.0, 0.6, n) * (rng.random(n) > 0.2)
    x /= x.max()
    y = 500.0 + 120.0 * T.logistic_saturation(T.geometric_adstock(x, 0.4, 8), 3.0) + rng.normal(0.0, 15.0, n)
    F = np.column_stack([np.ones(n), np.arange(n) / n])
    media = mmm_fit.Media("geometric", "logistic", 8, True)
    problem = mmm_fit.VarPro(media, x[:, None], y, F)
    mode, ls, _ = mmm_fit.estimate(problem, mmm_fit.starting_points(media, 1, 3, 0), 5, 1.0)
    sigma2 = ls.rss / (n - 5)
    draws, w, ess = mmm_bootstrap.posterior_draws(problem, mode, sigma2, 1000, 0)
    assert ess > 300 and len(draws) <= mmm_bootstrap.N_KEEP and w.sum() == pytest.approx(1.0)
    is_mean = mmm_bootstrap.Mixture(media, x[:, None], draws, w, 2).channel_totals()[0]
    a0, l0 = mode.z
    grid = np.meshgrid(np.linspace(max(a0 - 0.3, 0.0), min(a0 + 0.3, 0.95), 61), np.linspace(l0 - 1.5, l0 + 1.5, 61))
    log_p, total = [], []
    for z in np.column_stack([g.ravel() for g in grid]):
        s = problem.solution(z)
        Mr = problem._solve(z).Mr[:, 0]
        log_p.append(-s.objective / (2 * sigma2) - 0.5 * np.log(Mr @ Mr))  # flat prior on the coefficient
        total.append(s.beta[0] * media.columns(x[:, None], z)[0].sum())
    p = np.exp(np.array(log_p) - max(log_p))
    grid_mean = p @ np.array(total) / p.sum()
    assert is_mean == pytest.approx(grid_mean, rel=0.01)
    assert abs(mode.beta[0] * media.columns(x[:, None], mode.z)[0].sum() / grid_mean - 1) > 0.02


def test_point_estimate_mode_reports_the_mode_everywhere(low_noise):
    data, m = low_noise
    mode = MarketingMixModel(saturation="logistic", bootstrap=0, seed=0, point_estimate="mode").fit(
        data.frame, "date", "revenue", CHANNELS
    )
    tp = mode.transform_params_
    pd.testing.assert_frame_equal(
        tp[["alpha", "lam", "coefficient"]], m.transform_params_[["alpha", "lam", "coefficient"]]
    )
    x = data.frame["tv"].to_numpy() / tp.loc["tv", "spend_scale"]
    col = T.logistic_saturation(T.geometric_adstock(x, tp.loc["tv", "alpha"], 8), tp.loc["tv", "lam"])
    np.testing.assert_allclose(mode.contributions_["tv"], tp.loc["tv", "coefficient"] * col, rtol=1e-9)
    assert mode.posterior_ess_ == 1.0 and m.posterior_ess_ > 100
    # low noise: the posterior is narrow, mean and mode ROAS are close (not equal)
    np.testing.assert_allclose(m.roas_["roas"], mode.roas_["roas"], rtol=0.1)
    assert not np.allclose(m.roas_["roas"], mode.roas_["roas"], rtol=1e-4)


# --- bookkeeping ----------------------------------------------------------------------------


def test_holdout_mape_hand_case():
    # no media effect, an exact line on the training weeks: the holdout fit predicts the line, so
    # with actual = line * (1 + d) the MAPE is mean(d / (1 + d)) * 100
    n, h = 60, 4
    rng = np.random.default_rng(0)
    t = np.arange(n, dtype=float)
    line = 100.0 + 2.0 * t
    d = np.array([0.1, -0.05, 0.2, 0.0])
    y = line.copy()
    y[-h:] *= 1 + d
    f = pd.DataFrame({"week": pd.date_range("2022-01-03", periods=n, freq="7D"), "y": y,
                      "tv": rng.uniform(50, 150, n)})  # fmt: skip
    m = MarketingMixModel(seasonality=0, holdout_weeks=h, bootstrap=0).fit(f, "week", "y", ["tv"])
    assert m.holdout_mape_ == pytest.approx(np.mean(np.abs(d) / (1 + d)) * 100, abs=1e-6)
    fit = m.fitted_
    assert list(fit.columns) == ["date", "actual", "fitted", "holdout", "holdout_prediction"]
    assert fit["holdout"].sum() == h and fit["holdout_prediction"].isna().sum() == n - h
    np.testing.assert_allclose(fit["holdout_prediction"].tail(h), line[-h:], atol=1e-6)
    assert m.transform_params_.loc["tv", "coefficient"] == pytest.approx(0.0, abs=1e-6)
    assert MarketingMixModel(holdout_weeks=0, bootstrap=0).fit(f, "week", "y", ["tv"]).holdout_mape_ is None


def test_contributions_sum_to_the_target_and_roas_follows_them(low_noise):
    data, m = low_noise
    c = m.contributions_
    assert list(c.columns) == ["date", "baseline", "trend", "seasonality", *CHANNELS, "residual"]
    y = data.frame["revenue"].to_numpy()
    np.testing.assert_allclose(c.drop(columns="date").sum(axis=1), y, rtol=1e-12)
    np.testing.assert_allclose(c["residual"], m.fitted_["actual"] - m.fitted_["fitted"], atol=1e-6)
    np.testing.assert_allclose(m.roas_["contribution"], c[CHANNELS].sum(), rtol=1e-10)
    np.testing.assert_allclose(m.roas_["roas"], m.roas_["contribution"] / m.roas_["spend"])
    assert m.roas_["share_of_spend"].sum() == pytest.approx(1.0) and m.roas_["share_of_effect"].sum() == pytest.approx(
        1.0
    )
    assert m.r2_ == pytest.approx(1 - (c["residual"] ** 2).sum() / ((y - y.mean()) ** 2).sum())
    n = len(y)
    assert m.loglik_ == pytest.approx(-n / 2 * (np.log(2 * np.pi * (c["residual"] ** 2).mean()) + 1))


def test_channel_response_at_historical_spend_is_the_fitted_contribution(low_noise):
    _, m = low_noise
    hist = m.roas_["spend"].to_numpy()
    np.testing.assert_allclose(m.channel_response(hist), m.contributions_[CHANNELS].sum(), rtol=1e-10)
    up = m.channel_response(hist * 1.01)
    np.testing.assert_allclose(m.roas_["mroas"], (up - m.roas_["contribution"]) / (0.01 * hist), rtol=1e-8)
    assert (m.roas_["mroas"] < m.roas_["roas"]).all()  # concave curves: the next unit earns less
    assert m.n_draws_ == 40
    draws = np.array([m.channel_response(hist, draw=i) for i in range(m.n_draws_)])
    np.testing.assert_allclose(np.percentile(draws / hist, [5, 95], axis=0), m.roas_[["roas_low", "roas_high"]].T)
    assert m.channel_response(np.zeros(4)).sum() == 0.0


def test_response_curve_is_increasing_with_its_band_and_current_point(low_noise):
    _, m = low_noise
    curve = m.response_curve("tv")
    assert list(curve.columns) == ["multiplier", "spend", "response", "response_low", "response_high", "is_current"]
    assert len(curve) == 41 and curve["is_current"].sum() == 1
    now = curve[curve["is_current"]].iloc[0]
    assert now["response"] == pytest.approx(m.roas_.loc["tv", "contribution"])
    assert now["spend"] == pytest.approx(m.roas_.loc["tv", "spend"])
    assert (np.diff(curve["response"]) > 0).all() and curve["response"].iloc[0] == 0.0
    assert (curve["response_low"] <= curve["response"] + 1e-9).all()
    assert (curve["response"] <= curve["response_high"] + 1e-9).all()


def test_response_curve_band_is_over_each_refit_evaluated_on_its_own(low_noise):
    """The band comes from every refit at once (adstocked once, scaled per multiplier): each
    refit's curve equals its own response at that spend, as channel_response computes it."""
    _, m = low_noise
    hist = m.roas_["spend"].to_numpy()
    mult = np.array([0.0, 0.3, 1.0, 1.7])
    c = CHANNELS.index("search")
    curve = m.response_curve("search", mult)
    each = np.empty((m.n_draws_, mult.size))
    for j, k in enumerate(mult):
        spend = hist.copy()
        spend[c] *= k
        each[:, j] = [m.channel_response(spend, draw=i)[c] for i in range(m.n_draws_)]
    np.testing.assert_allclose(m._draw_mixture().draw_curves(c, mult), each, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        curve[["response_low", "response_high"]].T, np.percentile(each, [5, 95], axis=0), rtol=1e-12
    )
    assert curve["response"].iloc[2] == pytest.approx(m.channel_response(hist)[c], rel=1e-12)


def test_fit_is_deterministic_given_the_seed():
    f = simulate(seed=5, saturation="logistic", sat=LOGISTIC)
    a, b = (MarketingMixModel(bootstrap=10, seed=3).fit(f, "week", "sales", ["ch0", "ch1", "ch2"]) for _ in "ab")
    for attr in ("transform_params_", "coefficients_", "contributions_", "roas_", "fitted_"):
        pd.testing.assert_frame_equal(getattr(a, attr), getattr(b, attr))
    assert a.notes_ == b.notes_ and a.holdout_mape_ == b.holdout_mape_


def test_summary_holds_transforms_coefficients_and_fit_statistics(pymc_example):
    s = pymc_example.summary()
    assert set(s["section"]) == {"transform", "coefficient", "fit"}
    assert (s["section"] == "transform").sum() == 4  # 2 channels x (alpha, lam)
    fit = s[s["section"] == "fit"].set_index("term")["estimate"]
    assert fit["R²"] == pytest.approx(pymc_example.r2_) and fit["AIC"] == pytest.approx(pymc_example.aic_)
    assert fit["holdout MAPE %"] == pytest.approx(pymc_example.holdout_mape_)
    assert 0 < pymc_example.holdout_mape_ < 15


# --- boundaries -----------------------------------------------------------------------------


def test_channel_without_effect_gets_no_contribution_and_a_note_and_zero_spend_channel_is_kept_at_zero():
    f = simulate(seed=1, saturation="logistic", sat=LOGISTIC, betas=(300.0, 200.0, 0.0))
    f["radio"] = 0.0
    m = MarketingMixModel(saturation="logistic", bootstrap=20).fit(f, "week", "sales", ["ch0", "ch1", "ch2", "radio"])
    # the no-effect channel's coefficient is not identified (lam at its bound trades against it), its
    # effect is: under 3 % of the media effect, F test p > 0.05 (the real channels: p < 1e-10)
    assert m.roas_.loc["ch2", "share_of_effect"] < 0.03
    assert m.transform_params_.loc["ch2", "p_value"] > 0.05
    assert (m.transform_params_.loc[["ch0", "ch1"], "p_value"] < 1e-10).all()
    assert any("ch2" in n and "not distinguishable from zero" in n for n in m.notes_)
    assert any("radio" in n and "no spend" in n for n in m.notes_)
    assert m.transform_params_.loc["radio", "coefficient"] == 0.0
    assert m.transform_params_.loc["radio", ["alpha", "lam"]].isna().all()
    assert (m.contributions_["radio"] == 0).all() and np.isnan(m.roas_.loc["radio", "roas"])
    assert m.channel_response(np.full(4, 1e5))[3] == 0.0
    assert (m.response_curve("radio")["response"] == 0).all()


def test_all_channels_without_spend_is_an_error():
    f = simulate(seed=1).assign(ch0=0.0, ch1=0.0, ch2=0.0)
    with pytest.raises(ValueError, match="zero spend"):
        MarketingMixModel(bootstrap=0).fit(f, "week", "sales", ["ch0", "ch1", "ch2"])


def test_parameter_at_its_bound_is_flagged_with_a_note():
    # no carry-over at all (alpha 0): the estimate sits on the lower end of [0, 0.95]
    f = simulate(seed=2, saturation="logistic", ad=(0.0, 0.2, 0.3), sat=LOGISTIC, noise=5.0)
    m = MarketingMixModel(saturation="logistic", bootstrap=0).fit(f, "week", "sales", ["ch0", "ch1", "ch2"])
    assert m.transform_params_.loc["ch0", "alpha"] == pytest.approx(0.0, abs=1e-6)
    assert m.transform_params_.loc["ch0", "at_bound"]
    assert not m.transform_params_.loc["ch1", "at_bound"]
    assert any("ch0's alpha is at the lower end" in n for n in m.notes_)


def test_search_that_does_not_converge_is_noted_and_still_gives_a_model(monkeypatch):
    real = mmm_fit.least_squares
    monkeypatch.setattr(mmm_fit, "least_squares", lambda *a, **k: real(*a, **{**k, "max_nfev": 1}))
    f = simulate(seed=1, saturation="logistic", sat=LOGISTIC)
    m = MarketingMixModel(saturation="logistic", bootstrap=5).fit(f, "week", "sales", ["ch0", "ch1", "ch2"])
    assert any("did not converge" in n and "best point reached" in n for n in m.notes_)
    assert any("5 of 5 bootstrap refits stopped" in n for n in m.notes_)
    np.testing.assert_allclose(m.contributions_.drop(columns="date").sum(axis=1), f["sales"], rtol=1e-12)


def test_penalty_pulls_weakly_identified_carry_over_towards_the_prior_centre():
    data = generate_spend(156, seed=3)
    fits = [MarketingMixModel(saturation="logistic", bootstrap=0, holdout_weeks=0, penalty=p).fit(
        data.frame, "date", "revenue", CHANNELS) for p in (0.0, 4.0)]  # fmt: skip
    centre = mmm_fit.PRIOR["alpha"][0]
    dist = [np.abs(m.transform_params_["alpha"] - centre).sum() for m in fits]
    assert dist[1] < dist[0] - 0.05
    assert fits[1].r2_ <= fits[0].r2_  # the penalty can only cost fit


# --- bad input ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    return simulate(n=80, seed=4)


@pytest.mark.parametrize(
    ("change", "args", "match"),
    [
        (None, ("week", "sales", ["ch0", "nope"]), r"\['nope'\] not in the frame"),
        (lambda f: f.assign(ch1=f["ch1"].astype(str)), ("week", "sales", ["ch0", "ch1"]), "'ch1' must be numeric"),
        (lambda f: f.assign(ch0=-f["ch0"]), ("week", "sales", ["ch0"]), "'ch0' has .* negative value"),
        (lambda f: f.assign(sales=f["sales"].where(f.index != 7)), ("week", "sales", ["ch0"]), "'sales' has 1 missing"),
        (lambda f: f.assign(week=f["week"].iloc[0]), ("week", "sales", ["ch0"]), "'week' repeats dates"),
        (lambda f: f.assign(week="soon"), ("week", "sales", ["ch0"]), "'week' has 80 value"),
        (lambda f: f.assign(k=1.0), ("week", "sales", ["ch0"], ["k"]), "control 'k' is constant"),
        (lambda f: f.rename(columns={"ch2": "trend"}), ("week", "sales", ["ch0", "trend"]), "reserved"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(small, change, args, match):
    f = small if change is None else change(small.copy())
    with pytest.raises(ValueError, match=match):
        MarketingMixModel(bootstrap=0).fit(f, *args)


def test_too_few_weeks_for_the_holdout_is_an_error(small):
    with pytest.raises(ValueError, match="holdout_weeks=60 leaves 20"):
        MarketingMixModel(holdout_weeks=60, bootstrap=0).fit(small, "week", "sales", ["ch0", "ch1", "ch2"])
    with pytest.raises(ValueError, match="too few weeks"):
        MarketingMixModel(bootstrap=0).fit(small.head(30), "week", "sales", ["ch0", "ch1", "ch2"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"adstock": "delayed"}, "adstock must be"),
        ({"saturation": "tanh"}, "saturation must be"),
        ({"l_max": 0}, "l_max must be"),
        ({"bootstrap": -1}, "bootstrap must be"),
        ({"penalty": -1.0}, "penalty must be"),
        ({"point_estimate": "median"}, "point_estimate must be"),
        ({"synergy": (["ch0"], ["nope"])}, "unknown: \\['nope'\\]"),
        ({"synergy": (["ch0"], ["ch0"])}, "disjoint"),
    ],
)
def test_bad_configuration_raises_value_error(small, kw, match):
    with pytest.raises(ValueError, match=match):
        MarketingMixModel(**{"bootstrap": 0, **kw}).fit(small, "week", "sales", ["ch0", "ch1", "ch2"])


def test_bad_calls_after_fit_raise_value_error(low_noise):
    _, m = low_noise
    with pytest.raises(ValueError, match="one total per channel"):
        m.channel_response([1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        m.channel_response([1.0, -2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="draw must be"):
        m.channel_response(np.ones(4), draw=40)
    with pytest.raises(ValueError, match="'radio' is not one of the fitted channels"):
        m.response_curve("radio")
    with pytest.raises(RuntimeError, match="not fitted"):
        MarketingMixModel().channel_response(np.ones(4))
