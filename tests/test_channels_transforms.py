"""helpers.channels.transforms: adstock (geometric, Weibull pdf/cdf) and saturation (logistic,
Hill) against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.channels import transforms as T


def test_geometric_adstock_matches_hand_computed_weights():
    x = np.array([1.0, 0.0, 2.0, 0.0, 0.0])
    # alpha 0.5, 3 lags: weights 1, .5, .25 (sum 1.75)
    raw = T.geometric_adstock(x, 0.5, l_max=3, normalize=False)
    np.testing.assert_allclose(raw, [1.0, 0.5, 2.25, 1.0, 0.5])
    np.testing.assert_allclose(T.geometric_adstock(x, 0.5, l_max=3), np.array([1.0, 0.5, 2.25, 1.0, 0.5]) / 1.75)
    np.testing.assert_allclose(T.geometric_weights(0.5, 3, normalize=False), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(T.geometric_weights(0.0, 3), [1.0, 0.0, 0.0])


def test_weibull_cdf_weights_are_the_cumulative_survival_of_robyn():
    # shape 2, scale 0.5 of a 3-lag window: lambda = 1 + 0.5 * 2 = 2; 1 - F(j) = exp(-(j/2)^2)
    w = T.weibull_weights(2.0, 0.5, l_max=3, kind="cdf", normalize=False)
    np.testing.assert_allclose(w, [1.0, np.exp(-0.25), np.exp(-0.25 - 1.0)])
    wn = T.weibull_weights(2.0, 0.5, l_max=3, kind="cdf")
    np.testing.assert_allclose(wn, w / w.sum())
    assert wn.sum() == pytest.approx(1.0)


def test_weibull_pdf_weights_are_the_density_at_lags_1_to_l_max_over_its_maximum():
    # f(x) = (k/lam) (x/lam)^(k-1) exp(-(x/lam)^k) with k = 2, lam = 2: f(1) = .5 e^-.25, f(2) = e^-1,
    # f(3) = 1.5 e^-2.25; the largest is f(1)
    f = np.array([0.5 * np.exp(-0.25), np.exp(-1.0), 1.5 * np.exp(-2.25)])
    np.testing.assert_allclose(T.weibull_weights(2.0, 0.5, 3, "pdf", normalize=False), f / f.max())
    np.testing.assert_allclose(T.weibull_weights(2.0, 0.5, 3, "pdf"), f / f.sum())
    # a later peak: shape 4, scale 1 over 8 lags (lambda 8), mode 8 * 0.75^(1/4) = 7.44: between
    # x = 7 (lag 6) and x = 8 (lag 7); f(7) / f(8) = (7/8)^3 exp(1 - (7/8)^4) = 1.013, so lag 6 peaks
    late = T.weibull_weights(4.0, 1.0, 8, "pdf", normalize=False)
    assert late.argmax() == 6 and late[7] == pytest.approx(1.0 / ((7 / 8) ** 3 * np.exp(1 - (7 / 8) ** 4)))


def test_weibull_zero_shape_or_scale_keeps_spend_in_its_week():
    x = np.array([3.0, 1.0, 0.0, 2.0])
    for shape, scale in ((0.0, 0.4), (2.0, 0.0)):
        np.testing.assert_allclose(T.weibull_adstock(x, shape, scale, l_max=4), x)


def test_weibull_adstock_is_the_convolution_with_its_weights_and_keeps_total_spend():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.random(30), np.zeros(8)])  # zero tail: all carry-over stays inside
    for kind in ("pdf", "cdf"):
        w = T.weibull_weights(1.5, 0.3, 8, kind)
        y = T.weibull_adstock(x, 1.5, 0.3, 8, kind)
        expected = [sum(w[k] * x[t - k] for k in range(8) if t - k >= 0) for t in range(len(x))]
        np.testing.assert_allclose(y, expected)
        assert y.sum() == pytest.approx(x.sum())  # normalised weights move spend, never create it
    assert T.geometric_adstock(x, 0.6).sum() == pytest.approx(x.sum())


def test_hill_saturation_hand_values():
    x = np.array([0.0, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(T.hill_saturation(x, half=1.0, slope=2.0), [0.0, 0.25 / 1.25, 0.5, 4.0 / 5.0])
    np.testing.assert_allclose(T.hill_saturation(x, half=2.0, slope=1.0), x / (x + 2.0))
    assert T.hill_saturation(np.array([3.0]), 3.0, 7.0)[0] == pytest.approx(0.5)


def test_logistic_saturation_hand_value():
    # (1 - e^-2) / (1 + e^-2) at lam 2, x 1
    assert T.logistic_saturation(np.array([1.0]), 2.0)[0] == pytest.approx((1 - np.exp(-2)) / (1 + np.exp(-2)))


def test_transforms_reject_bad_parameters_by_name():
    with pytest.raises(ValueError, match="kind"):
        T.weibull_weights(1.0, 0.5, kind="gamma")
    with pytest.raises(ValueError, match="shape"):
        T.weibull_weights(-1.0, 0.5)
    with pytest.raises(ValueError, match="half"):
        T.hill_saturation(np.ones(3), half=0.0, slope=1.0)
