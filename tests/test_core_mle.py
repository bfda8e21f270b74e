"""The generic maximum-likelihood engine (helpers.core.mle) on a model with nothing CLV-specific:
the gamma distribution. Recovers simulated truth, matches the closed-form score equations, gives
log-scale intervals, and reports unidentified parameters as NotIdentifiedError."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from helpers.core.mle import LikelihoodModel, MLEResult, ModelFitError, NotIdentifiedError


class GammaDistribution(LikelihoodModel):
    """i.i.d. y ~ Gamma(shape k, rate theta)."""

    _param_names = ("k", "theta")
    _model_name = "Gamma"

    def fit(self, y):
        y = np.asarray(y, dtype=float)
        self._fit_core(y, float(y.size))
        return self

    def _default_start(self, y):
        return np.array([1.0, 1.0 / y.mean()])

    def _nll_grad(self, theta, y):
        k, rate = theta
        n, s, slog = y.size, y.sum(), np.log(y).sum()
        ll = n * (k * math.log(rate) - special.gammaln(k)) + (k - 1) * slog - rate * s
        g = np.array([n * (math.log(rate) - special.digamma(k)) + slog, n * k / rate - s])
        return -ll, -g


@pytest.fixture(scope="module")
def sample():
    return np.random.default_rng(5).gamma(3.0, 1 / 2.0, 20_000)


def test_recovers_truth_and_solves_the_score_equations(sample):
    m = GammaDistribution().fit(sample)
    assert abs(m.params_["k"] - 3.0) < 4 * m.standard_errors_["k"]
    assert abs(m.params_["theta"] - 2.0) < 4 * m.standard_errors_["theta"]
    # at the MLE: rate = k / mean and log(k) - digamma(k) = log(mean) - mean(log y)
    k = m.params_["k"]
    assert m.params_["theta"] == pytest.approx(k / sample.mean(), rel=1e-7)
    assert math.log(k) - special.digamma(k) == pytest.approx(math.log(sample.mean()) - np.log(sample).mean(), rel=1e-7)
    assert m.n_obs_ == 20_000 and m.converged_


def test_results_object_intervals_summary_and_information_criteria(sample):
    m = GammaDistribution().fit(sample)
    res = m.result_
    assert isinstance(res, MLEResult) and res.params == m.params_
    ci90, ci95 = m.conf_int(0.10), m.conf_int(0.05)
    assert (ci95["lower"] < ci90["lower"]).all() and (ci90["upper"] < ci95["upper"]).all()
    est = np.array(list(m.params_.values()))
    assert np.allclose(np.sqrt(ci95["lower"] * ci95["upper"]), est)  # symmetric on the log scale
    table = m.summary()
    assert list(table.columns) == ["estimate", "std_error", "lower_95", "upper_95"]
    assert list(m.summary(alpha=0.1).columns)[2:] == ["lower_90", "upper_90"]
    stats = table.attrs["fit_statistics"]
    assert stats["n_obs"] == 20_000 and stats["aic"] == pytest.approx(4 - 2 * m.log_likelihood_)
    assert stats["bic"] == pytest.approx(2 * math.log(20_000) - 2 * m.log_likelihood_)
    # the covariance is the inverse observed information (closed form for the gamma)
    n, k, rate = 20_000, m.params_["k"], m.params_["theta"]
    info = n * np.array([[special.polygamma(1, k), -1 / rate], [-1 / rate, k / rate**2]])
    np.testing.assert_allclose(m.covariance_.to_numpy(), np.linalg.inv(info), rtol=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        m.conf_int(1.5)


def test_unidentified_parameters_raise_not_identified_and_log_penalizer_keeps_them_finite():
    constant = np.full(500, 2.0)  # no spread: shape -> infinity
    with pytest.raises(NotIdentifiedError) as info:
        GammaDistribution().fit(constant * np.random.default_rng(1).uniform(0.99999, 1.00001, 500))
    assert isinstance(info.value, ModelFitError) and "k" in info.value.extreme and info.value.model == "Gamma"
    pen = GammaDistribution(log_penalizer=1e-3).fit(constant * np.random.default_rng(1).uniform(0.999, 1.001, 500))
    assert all(np.isfinite(list(pen.params_.values()))) and pen.fit_statistics()["log_penalizer"] == 1e-3


def test_bad_configuration_and_unfitted_use_are_reported():
    with pytest.raises(ValueError, match="log_penalizer"):
        GammaDistribution(log_penalizer=-1).fit([1.0, 2.0])
    with pytest.raises(RuntimeError, match="not fitted"):
        GammaDistribution().summary()
